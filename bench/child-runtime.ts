/*
 * The child's side of the protocol in `protocol.ts`, shared by the server processes of both
 * suites (`child.ts` and `peers/child.ts`).
 */
import type { ChildMessage, ChildStats, ChirpBuild, ParentMessage } from "./protocol.js";

const STOP_GRACE_MS = 2_000;

/** A server that listens on 127.0.0.1 and can report to the parent. */
export interface ServedChild {
  port: number;
  build: ChirpBuild | null;
  close(): Promise<void>;
  /** Keys in the server's MemoryRateLimitBackend, for the servers that have one. */
  rateLimitKeys?: () => number;
}

function send(message: ChildMessage): void {
  process.send?.(message);
}

/** Throws unless the process was forked by the harness with an IPC channel. */
export function requireParent(script: string): void {
  if (process.send === undefined) throw new Error(`${script} must be started by the harness with an IPC channel`);
}

function statsOf(server: ServedChild): ChildStats {
  const cpu = process.cpuUsage();
  return {
    rss: process.memoryUsage().rss,
    // maxRSS is in kilobytes, as getrusage(2) reports ru_maxrss on Linux.
    maxRss: process.resourceUsage().maxRSS * 1024,
    cpuMicros: cpu.user + cpu.system,
    ...(server.rateLimitKeys === undefined ? {} : { rateLimitKeys: server.rateLimitKeys() }),
  };
}

/**
 * Tells the parent that `server` listens, then replies to its "stats" messages and exits on
 * "stop" or when the parent goes away.
 */
export function serveParent(server: ServedChild): void {
  let stopping = false;
  process.on("message", function handleParentMessage(message: ParentMessage) {
    if (message.type === "stats") {
      send({ type: "stats", stats: statsOf(server) });
    } else if (!stopping) {
      stopping = true;
      // Exit through process.exit so that --cpu-prof writes its profile. The timer bounds the
      // wait for connections that a client keeps open.
      setTimeout(() => process.exit(0), STOP_GRACE_MS).unref();
      void server.close().finally(() => process.exit(0));
    }
  });
  // An orphaned server would keep running after a crashed parent: exit with it.
  process.on("disconnect", () => process.exit(0));
  send({ type: "listening", port: server.port, build: server.build });
}

/** Reports a failed start to the parent and lets the process exit with code 1. */
export function reportStartFailure(error: unknown): void {
  send({ type: "failed", message: error instanceof Error ? (error.stack ?? error.message) : String(error) });
  process.exitCode = 1;
  if (process.connected) process.disconnect();
}

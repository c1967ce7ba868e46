/*
 * Entry point of one peer server process. The parent forks it with an IPC channel and three
 * arguments: the stack (`bare`, `chirp`, `fastify`, `express` or `hono`), the app (`hello` or
 * `hardened`) and the settings as JSON. It speaks the protocol of `../protocol.ts`: it sends
 * its port once it listens on 127.0.0.1, answers "stats" and exits on "stop" or when the
 * parent goes away.
 */
import type { ChildMessage, ParentMessage } from "../protocol.js";
import { PEERS, isPeer, type Peer, type PeerApp, type PeerSettings } from "./spec.js";
import type { StartedPeer } from "./started.js";

const STOP_GRACE_MS = 2_000;

type Starter = (app: PeerApp, settings: PeerSettings) => Promise<StartedPeer>;

/**
 * Imports the one stack this child runs. Loading the others too would add their modules to
 * every child's memory, and in a trial run it also made the bare node:http server spend 93
 * instead of 56 µs of CPU per request.
 */
const STARTERS: Record<Peer, () => Promise<Starter>> = {
  bare: async () => (await import("./bare.js")).startBare,
  chirp: async () => (await import("./chirp.js")).startChirp,
  fastify: async () => (await import("./fastify.js")).startFastify,
  express: async () => (await import("./express.js")).startExpress,
  hono: async () => (await import("./hono.js")).startHono,
};

function send(message: ChildMessage): void {
  process.send?.(message);
}

function readArguments(): { peer: Peer; app: PeerApp; settings: PeerSettings } {
  const [peer, app, settings] = process.argv.slice(2);
  if (!isPeer(peer)) throw new Error(`Invalid stack ${JSON.stringify(peer)}: expected one of ${PEERS.join(", ")}`);
  if (app !== "hello" && app !== "hardened") {
    throw new Error(`Invalid app ${JSON.stringify(app)}: expected "hello" or "hardened"`);
  }
  if (settings === undefined) throw new Error("Missing settings: pass them as JSON in the third argument");
  return { peer, app, settings: JSON.parse(settings) as PeerSettings };
}

async function main(): Promise<void> {
  if (process.send === undefined) {
    throw new Error("bench/peers/child.ts must be started by the harness with an IPC channel");
  }
  const { peer, app, settings } = readArguments();
  const start = await STARTERS[peer]();
  const started = await start(app, settings);

  let stopping = false;
  process.on("message", function handleParentMessage(message: ParentMessage) {
    if (message.type === "stats") {
      const cpu = process.cpuUsage();
      send({
        type: "stats",
        stats: {
          rss: process.memoryUsage().rss,
          // maxRSS is in kilobytes, as getrusage(2) reports ru_maxrss on Linux.
          maxRss: process.resourceUsage().maxRSS * 1024,
          cpuMicros: cpu.user + cpu.system,
        },
      });
    } else if (!stopping) {
      stopping = true;
      // Exit through process.exit so that --cpu-prof writes its profile. The timer bounds the
      // wait for connections that a client keeps open.
      setTimeout(() => process.exit(0), STOP_GRACE_MS).unref();
      void started.close().finally(() => process.exit(0));
    }
  });
  process.on("disconnect", () => process.exit(0));
  send({ type: "listening", port: started.port, build: started.build });
}

main().catch((error: unknown) => {
  send({ type: "failed", message: error instanceof Error ? (error.stack ?? error.message) : String(error) });
  process.exitCode = 1;
  if (process.connected) process.disconnect();
});

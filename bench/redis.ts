/*
 * A throwaway redis-server for the Redis rate limit servers, on 127.0.0.1 with a free port
 * and no persistence. The same pattern as startRedis in test/services.ts, without its CI
 * switch: the benchmark skips the Redis rows when redis-server is missing.
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { createServer } from "node:net";

const HOST = "127.0.0.1";
const START_TIMEOUT_MS = 10_000;
const STOP_TIMEOUT_MS = 5_000;

/** A redis-server that the harness started. */
export interface RedisServer {
  readonly port: number;
  /** Stops the server with SIGTERM and waits for it to exit, killing it if it does not exit in time. */
  stop(): Promise<void>;
}

const running = new Set<ChildProcess>();

/** Kills every redis-server that this process started and that still runs. Safe in an `exit` handler. */
export function killAllRedisServers(): void {
  for (const child of running) child.kill("SIGKILL");
  running.clear();
}

/** Returns why the Redis rows cannot run, or null when `redis-server --version` works. */
export function redisUnavailableReason(): string | null {
  const found = spawnSync("redis-server", ["--version"], { encoding: "utf8" });
  return found.status === 0 ? null : "redis-server is not installed (apt-get install redis-server)";
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, HOST, () => {
      const address = server.address();
      const port = typeof address === "object" && address !== null ? address.port : 0;
      server.close(() => {
        resolve(port);
      });
    });
  });
}

/** Starts redis-server on 127.0.0.1 and resolves once it accepts connections. */
export async function startRedis(): Promise<RedisServer> {
  const port = await freePort();
  const child = spawn(
    "redis-server",
    ["--port", String(port), "--bind", HOST, "--save", "", "--appendonly", "no", "--protected-mode", "yes"],
    { stdio: ["ignore", "pipe", "pipe"] },
  );
  running.add(child);
  child.once("exit", () => running.delete(child));

  let output = "";
  function collectOutput(chunk: Buffer): void {
    output += chunk.toString();
  }
  child.stdout.on("data", collectOutput);
  child.stderr.on("data", collectOutput);
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        cleanUp();
        reject(new Error(`redis-server on port ${port} did not start within ${START_TIMEOUT_MS} ms: ${output}`));
      }, START_TIMEOUT_MS);
      function onData(): void {
        if (output.includes("Ready to accept connections")) {
          cleanUp();
          resolve();
        }
      }
      function onExit(code: number | null): void {
        cleanUp();
        reject(new Error(`redis-server on port ${port} exited with code ${String(code)}: ${output}`));
      }
      function cleanUp(): void {
        clearTimeout(timer);
        child.stdout.off("data", onData);
        child.off("exit", onExit);
      }
      child.stdout.on("data", onData);
      child.once("exit", onExit);
    });
  } catch (error) {
    child.kill("SIGKILL");
    throw error;
  } finally {
    // Removing a 'data' listener does not pause a Node.js stream, so the pipes keep draining
    // and redis-server cannot stall on a full pipe.
    child.stdout.off("data", collectOutput);
    child.stderr.off("data", collectOutput);
  }

  return {
    port,
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) {
          resolve();
          return;
        }
        const timer = setTimeout(() => child.kill("SIGKILL"), STOP_TIMEOUT_MS);
        child.once("exit", () => {
          clearTimeout(timer);
          resolve();
        });
        child.kill("SIGTERM");
      }),
  };
}

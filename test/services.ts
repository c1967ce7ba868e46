import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { createServer } from "node:net";

/**
 * When set (CI sets it), tests that need a service such as Redis fail instead of skipping
 * when the service is not installed.
 */
export const REQUIRE_SERVICES = process.env.CHIRP_TEST_REQUIRE_SERVICES === "1";

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address !== null ? address.port : 0;
      server.close(() => {
        resolve(port);
      });
    });
  });
}

/** Returns a skip reason when redis-server is missing, or false; throws instead when services are required. */
export function redisSkipReason(): string | false {
  const found = spawnSync("redis-server", ["--version"], { encoding: "utf8" });
  if (found.status === 0) return false;
  const reason = "redis-server is not installed (apt-get install redis-server)";
  if (REQUIRE_SERVICES) throw new Error(`${reason}, and CHIRP_TEST_REQUIRE_SERVICES=1 requires it`);
  return reason;
}

export interface RedisServer {
  readonly port: number;
  stop(): Promise<void>;
}

/** Starts a throwaway redis-server on 127.0.0.1 with no persistence, and waits until it accepts commands. */
export async function startRedis(): Promise<RedisServer> {
  const port = await freePort();
  const child: ChildProcess = spawn(
    "redis-server",
    ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--protected-mode", "yes"],
    { stdio: ["ignore", "pipe", "pipe"] },
  );
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      reject(new Error("redis-server did not start within 10 seconds"));
    }, 10_000);
    let output = "";
    child.stdout?.on("data", (chunk: Buffer) => {
      output += chunk.toString();
      if (output.includes("Ready to accept connections")) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`redis-server exited with code ${String(code)}: ${output}`));
    });
  });
  return {
    port,
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) {
          resolve();
          return;
        }
        child.once("exit", () => {
          resolve();
        });
        child.kill("SIGTERM");
      }),
  };
}

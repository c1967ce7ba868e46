// Password benchmark: hashes per second for argon2id and scrypt, and how ordinary requests
// fare while logins hash. Run with `npm run bench:passwords`; writes bench/passwords/RESULTS.md.
import { spawn, type ChildProcess } from "node:child_process";
import { writeFileSync } from "node:fs";
import { cpus, totalmem } from "node:os";
import autocannon from "autocannon";
import { hashPassword, verifyPassword } from "../../src/security/index.js";
import { setArgon2ModuleForTests } from "../../src/security/passwords.js";

const DURATION = Number(process.env.BENCH_DURATION ?? "8");
const HASHES = Number(process.env.BENCH_HASHES ?? "24");

async function hashesPerSecond(concurrency: number): Promise<number> {
  const started = process.hrtime.bigint();
  let remaining = HASHES;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (remaining > 0) {
        remaining -= 1;
        await hashPassword("correct horse battery staple");
      }
    }),
  );
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  return HASHES / seconds;
}

function startServer(algorithm: string): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(process.execPath, ["--import", "tsx", new URL("./server.ts", import.meta.url).pathname], {
    env: { ...process.env, BENCH_ALGORITHM: algorithm },
    stdio: ["ignore", "pipe", "inherit"],
  });
  return new Promise((resolve, reject) => {
    child.once("exit", (code) => {
      reject(new Error(`password benchmark server exited with code ${String(code)}`));
    });
    child.stdout.once("data", (chunk: Buffer) => {
      const { port } = JSON.parse(chunk.toString()) as { port: number };
      resolve({ child, url: `http://127.0.0.1:${String(port)}` });
    });
  });
}

interface ReaderResult {
  requestsPerSecond: number;
  p99Ms: number;
  loginsPerSecond: number;
  loopDelay: { p50Ms: number; p99Ms: number; maxMs: number };
}

async function readersWhileLogging(url: string, logins: boolean): Promise<ReaderResult> {
  await fetch(`${url}/stats/reset`);
  const readers = autocannon({ url: `${url}/`, connections: 10, duration: DURATION });
  const loginLoad = logins
    ? autocannon({ url: `${url}/login`, method: "POST", connections: 8, duration: DURATION })
    : null;
  const [read, login] = await Promise.all([readers, loginLoad]);
  const loopDelay = (await (await fetch(`${url}/stats`)).json()) as ReaderResult["loopDelay"];
  if (read.non2xx > 0 || (login?.non2xx ?? 0) > 0)
    throw new Error("The benchmark server returned non-2xx responses; check its log");
  return {
    requestsPerSecond: read.requests.average,
    p99Ms: read.latency.p99,
    loginsPerSecond: login?.requests.average ?? 0,
    loopDelay,
  };
}

const rows: string[] = [];
for (const algorithm of ["argon2id", "scrypt"] as const) {
  setArgon2ModuleForTests(algorithm === "scrypt" ? null : undefined);
  // One check that hashing really happens before timing it.
  const check = await hashPassword("x");
  if (!(await verifyPassword("x", check)) || !check.startsWith(algorithm === "scrypt" ? "$scrypt$" : "$argon2id$")) {
    throw new Error(`${algorithm} did not produce a verifiable hash`);
  }
  const sequential = await hashesPerSecond(1);
  const parallel = await hashesPerSecond(4);

  const { child, url } = await startServer(algorithm);
  try {
    const idle = await readersWhileLogging(url, false);
    const busy = await readersWhileLogging(url, true);
    rows.push(
      `| ${algorithm} | ${sequential.toFixed(1)} | ${parallel.toFixed(1)} | ${idle.requestsPerSecond.toFixed(0)} | ${busy.requestsPerSecond.toFixed(0)} (${(busy.requestsPerSecond / idle.requestsPerSecond).toFixed(2)}x) | ${String(idle.p99Ms)} → ${String(busy.p99Ms)} | ${busy.loginsPerSecond.toFixed(1)} | ${busy.loopDelay.p99Ms.toFixed(1)} / ${busy.loopDelay.maxMs.toFixed(1)} |`,
    );
  } finally {
    child.kill();
  }
}

const report = `# Password benchmark results

Written by \`npm run bench:passwords\` (bench/passwords/run.ts) on ${new Date().toISOString()}.
Machine: ${cpus()[0]?.model ?? "unknown CPU"}, ${String(cpus().length)} logical CPUs, ${(totalmem() / 2 ** 30).toFixed(1)} GiB, Node.js ${process.version}.

Hashes per second with the framework's parameters (argon2id m=19456 KiB, t=2, p=1 through
@node-rs/argon2; scrypt N=2^16, r=8, p=1 through node:crypto), one at a time and four at a
time. Then a server on 127.0.0.1 serves an ordinary page to 10 connections for ${String(DURATION)} s,
alone and while 8 more connections post wrong passwords to a login route that verifies
each one. Event-loop delay is measured inside the server during the busy run
(monitorEventLoopDelay, 10 ms resolution). Absolute numbers depend on the machine; the
ratio of page throughput with and without logins is the figure to compare.

| algorithm | hashes/s, 1 at a time | hashes/s, 4 at a time | page req/s alone | page req/s during logins | page p99 ms, alone → during | logins/s | event-loop delay p99 / max ms |
| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |
${rows.join("\n")}
`;
writeFileSync(new URL("./RESULTS.md", import.meta.url), report);
process.stdout.write(report);

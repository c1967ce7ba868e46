/*
 * `npm run bench`: starts the benchmark servers in child processes, checks that each one
 * responds correctly, loads each pair in alternating order, prints a markdown table and
 * writes bench/RESULTS.md. Exits 1 when a correctness check fails and 2 on an invalid
 * BENCH_* variable or any other error.
 */
import { writeFile } from "node:fs/promises";
import os from "node:os";
import { fileURLToPath } from "node:url";
import { runLoad } from "./load.js";
import { SERVER_KINDS, type ServerKind } from "./protocol.js";
import {
  SCENARIOS,
  SERVER_LABELS,
  describeCommand,
  formatResultsPage,
  formatTable,
  requestsRatio,
  type BenchConfig,
  type Report,
  type RoundResult,
  type ServerResults,
} from "./report.js";
import { checkServer, killAllServers, startServer, type BenchServer } from "./servers.js";

const RESULTS_PATH = fileURLToPath(new URL("RESULTS.md", import.meta.url));

/** A failed correctness check: the run stops and exits 1. */
class CheckFailedError extends Error {
  constructor(readonly problems: readonly string[]) {
    super(`Correctness check failed:\n  ${problems.join("\n  ")}`);
  }
}

/** An invalid BENCH_* variable: the run stops before starting any server and exits 2. */
class InvalidSettingError extends Error {}

function readNumber(name: string, fallback: number, options: { integer: boolean; min: number }): number {
  const raw = process.env[name];
  if (raw === undefined || raw === "") return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value < options.min || (options.integer && !Number.isInteger(value))) {
    const kind = options.integer ? "an integer" : "a number";
    throw new InvalidSettingError(
      `Invalid ${name}=${JSON.stringify(raw)}: expected ${kind} of at least ${options.min}`,
    );
  }
  return value;
}

/** Reads the run settings from the BENCH_* variables. BENCH_DURATION and BENCH_WARMUP are in seconds. */
function readConfig(): BenchConfig {
  return {
    seconds: readNumber("BENCH_DURATION", 5, { integer: false, min: 1 }),
    rounds: readNumber("BENCH_ROUNDS", 6, { integer: true, min: 1 }),
    warmupSeconds: readNumber("BENCH_WARMUP", 2, { integer: false, min: 0 }),
    connections: readNumber("BENCH_CONNECTIONS", 50, { integer: true, min: 1 }),
  };
}

function log(message: string): void {
  process.stderr.write(`${message}\n`);
}

async function checkAll(servers: readonly BenchServer[]): Promise<void> {
  const problems = (await Promise.all(servers.map((server) => checkServer(server.kind, server.url)))).flat();
  if (problems.length > 0) throw new CheckFailedError(problems);
}

async function measure(server: BenchServer, config: BenchConfig, seconds: number): Promise<RoundResult> {
  const before = await server.stats();
  const result = await runLoad(server.url, { connections: config.connections, seconds });
  const after = await server.stats();
  if (result.non2xx > 0 || result.errors > 0) {
    throw new CheckFailedError([
      `${server.kind} at ${server.url}: ${result.non2xx} non-2xx responses and ${result.errors} connection errors under load`,
    ]);
  }
  return { ...result, cpuMicros: after.cpuMicros - before.cpuMicros };
}

async function benchmark(config: BenchConfig): Promise<Report> {
  const loadAverageAtStart = os.loadavg()[0] ?? 0;
  const estimate = SERVER_KINDS.length * (config.warmupSeconds + config.rounds * config.seconds);
  log(
    `Benchmark: ${config.rounds} rounds of ${config.seconds} s, ${config.warmupSeconds} s warm-up, ` +
      `${config.connections} connections, about ${Math.ceil(estimate)} s of load`,
  );

  const servers = new Map<ServerKind, BenchServer>();
  for (const server of await Promise.all(SERVER_KINDS.map((kind) => startServer(kind)))) {
    servers.set(server.kind, server);
  }
  const serverOf = (kind: ServerKind): BenchServer => servers.get(kind)!;
  const build = serverOf("chirp-hello").build;
  log(`Servers started; chirp imported from ${build ?? "nowhere"}/`);

  await checkAll([...servers.values()]);
  log("Correctness checks passed");

  if (config.warmupSeconds > 0) {
    for (const kind of SERVER_KINDS) {
      log(`Warm-up: ${SERVER_LABELS[kind]}`);
      await measure(serverOf(kind), config, config.warmupSeconds);
    }
  }

  const rounds = new Map<ServerKind, RoundResult[]>(SERVER_KINDS.map((kind) => [kind, []]));
  for (let round = 0; round < config.rounds; round++) {
    for (const scenario of SCENARIOS) {
      // Alternate which server of a pair goes first, so neither always runs on a warmer machine.
      const order = round % 2 === 0 ? [scenario.baseline, scenario.candidate] : [scenario.candidate, scenario.baseline];
      for (const kind of order) {
        const result = await measure(serverOf(kind), config, config.seconds);
        rounds.get(kind)!.push(result);
        log(
          `Round ${round + 1}/${config.rounds} ${SERVER_LABELS[kind]}: ` +
            `${Math.round(result.requestsPerSecond)} requests/s, p99 ${result.p99Ms} ms, ` +
            `server CPU ${Math.round((result.cpuMicros / (result.durationSeconds * 1e6)) * 100)}%`,
        );
      }
    }
  }

  // Check again, so a server that broke under load does not go unnoticed.
  await checkAll([...servers.values()]);

  const results = {} as Record<ServerKind, ServerResults>;
  for (const kind of SERVER_KINDS) {
    const stats = await serverOf(kind).stats();
    results[kind] = { rounds: rounds.get(kind)!, maxRss: stats.maxRss };
  }

  await Promise.all([...servers.values()].map((server) => server.stop()));
  return { config, command: describeCommand(), build, loadAverageAtStart, results };
}

async function main(): Promise<number> {
  const config = readConfig();
  const report = await benchmark(config);
  const table = formatTable(report);
  process.stdout.write(`${table}\n`);
  await writeFile(RESULTS_PATH, formatResultsPage(report, new Date()));
  log(`Wrote ${RESULTS_PATH}`);

  const ratio = requestsRatio(report, SCENARIOS[0]!);
  log(`Hello world: chirp at ${ratio.toFixed(2)}x bare node:http requests/s (aim: 0.85x or better)`);
  return 0;
}

process.on("exit", killAllServers);
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.on(signal, () => {
    killAllServers();
    process.exit(130);
  });
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    killAllServers();
    if (error instanceof CheckFailedError) {
      log(error.message);
      process.exitCode = 1;
    } else if (error instanceof InvalidSettingError) {
      log(error.message);
      process.exitCode = 2;
    } else {
      log(error instanceof Error ? (error.stack ?? error.message) : String(error));
      process.exitCode = 2;
    }
  },
);

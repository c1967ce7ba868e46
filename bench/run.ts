/*
 * `npm run bench`: runs two suites. The peer comparison starts bengal-chirp, Fastify, Express,
 * Hono and bare node:http with the same app, and the layer suite measures what each layer of
 * bengal-chirp costs, with a redis-server for the Redis rate limit servers when one is
 * installed. Every server is checked before it is loaded, and the servers of a scenario are
 * loaded back to back in alternating order. The run prints markdown tables and writes
 * bench/RESULTS.md and the chart bench/peers.svg. Exits 1 when a correctness check fails and 2
 * on an invalid BENCH_* variable or any other error.
 */
import { writeFile } from "node:fs/promises";
import os from "node:os";
import { fileURLToPath } from "node:url";
import { Redis } from "ioredis";
import { runLoad } from "./load.js";
import {
  MAX_SESSION_LOAD_SECONDS,
  REDIS_KINDS,
  SERVER_KINDS,
  SESSION_COOKIE_ISSUERS,
  isRateLimitKind,
  type ChirpBuild,
  type ServerKind,
} from "./protocol.js";
import { checkCheckers, checkCounting, rateLimitSettings, redisCpuMicros } from "./rate-limit.js";
import { killAllRedisServers, redisUnavailableReason, startRedis } from "./redis.js";
import {
  SERVER_LABELS,
  describeCommand,
  formatLayerSections,
  formatResultsPage,
  formatSummary,
  formatTable,
  measurementGroups,
  scenariosOf,
  type BenchConfig,
  type Report,
  type ResultSections,
  type RoundResult,
  type RunDescription,
  type ServerResults,
} from "./report.js";
import { importChirp } from "./import-chirp.js";
import { formatPeerSection, formatPeerSummary, formatPeerTable, renderPeerChart } from "./peers/report.js";
import { PeerCheckError, runPeers, type PeerReport } from "./peers/run.js";
import { PASSWORD } from "./peers/spec.js";
import { checkServer, killAllServers, loadTarget, logIn, startServer, type BenchServer } from "./servers.js";

const RESULTS_PATH = fileURLToPath(new URL("RESULTS.md", import.meta.url));
const CHART_PATH = fileURLToPath(new URL("peers.svg", import.meta.url));

/** The suites that BENCH_SUITE selects. */
const SUITES = ["all", "peers", "layers"] as const;
type Suite = (typeof SUITES)[number];

/** A failed correctness check: the run stops and exits 1. */
class CheckFailedError extends Error {
  constructor(readonly problems: readonly string[]) {
    super(`Correctness check failed:\n  ${problems.join("\n  ")}`);
  }
}

/** An invalid BENCH_* variable: the run stops before starting any server and exits 2. */
class InvalidSettingError extends Error {}

interface NumberRule {
  integer: boolean;
  min: number;
  /** Largest allowed value, with the reason for it. Default: no limit. */
  max?: { value: number; reason: string };
}

function readNumber(name: string, fallback: number, rule: NumberRule): number {
  const raw = process.env[name];
  if (raw === undefined || raw === "") return fallback;
  const value = Number(raw);
  const kind = rule.integer ? "an integer" : "a number";
  if (!Number.isFinite(value) || value < rule.min || (rule.integer && !Number.isInteger(value))) {
    throw new InvalidSettingError(`Invalid ${name}=${JSON.stringify(raw)}: expected ${kind} of at least ${rule.min}`);
  }
  if (rule.max !== undefined && value > rule.max.value) {
    throw new InvalidSettingError(
      `Invalid ${name}=${JSON.stringify(raw)}: expected ${kind} of at most ${rule.max.value}, ${rule.max.reason}`,
    );
  }
  return value;
}

const SESSION_LIMIT = {
  value: MAX_SESSION_LOAD_SECONDS,
  reason: "because SessionMiddleware re-issues the session cookie after a minute",
};

function readSuite(): Suite {
  const raw = process.env.BENCH_SUITE;
  if (raw === undefined || raw === "") return "all";
  if (!SUITES.includes(raw as Suite)) {
    throw new InvalidSettingError(`Invalid BENCH_SUITE=${JSON.stringify(raw)}: expected one of ${SUITES.join(", ")}`);
  }
  return raw as Suite;
}

/** Reads the run settings from the BENCH_* variables. BENCH_DURATION and BENCH_WARMUP are in seconds. */
function readConfig(): BenchConfig {
  return {
    seconds: readNumber("BENCH_DURATION", 3, { integer: false, min: 1, max: SESSION_LIMIT }),
    rounds: readNumber("BENCH_ROUNDS", 5, { integer: true, min: 1 }),
    warmupSeconds: readNumber("BENCH_WARMUP", 1, { integer: false, min: 0, max: SESSION_LIMIT }),
    connections: readNumber("BENCH_CONNECTIONS", 50, { integer: true, min: 1 }),
  };
}

function log(message: string): void {
  process.stderr.write(`${message}\n`);
}

/**
 * Checks every server's response, then that the rate limit servers count `POST /login` and
 * nothing else. `redis` is the harness's client of the redis-server, or null without one.
 */
async function checkAll(servers: readonly BenchServer[], redis: Redis | null): Promise<void> {
  const problems = (await Promise.all(servers.map((server) => checkServer(server.kind, server.url)))).flat();
  if (problems.length > 0) throw new CheckFailedError(problems);
  const rateLimitServers = servers.filter((server) => isRateLimitKind(server.kind));
  const counting = (await Promise.all(rateLimitServers.map((server) => checkCounting(server, redis)))).flat();
  if (counting.length > 0) throw new CheckFailedError(counting);
}

/** Connects the harness's own client, which reads counters and CPU time, to the redis-server on `port`. */
async function connectRedis(port: number): Promise<Redis> {
  const redis = new Redis({ host: "127.0.0.1", port, lazyConnect: true, maxRetriesPerRequest: 1 });
  await redis.connect();
  return redis;
}

/**
 * Logs in to the server that issues `kind`'s session cookie and returns the cookie, or
 * undefined for servers outside the session scenarios. A fresh cookie per load run keeps
 * the requests read-only, because SessionMiddleware re-issues a session cookie whose last
 * write is a minute old (its touch interval), and the load repeats the cookie it started with.
 */
async function sessionCookie(
  kind: ServerKind,
  serverOf: (kind: ServerKind) => BenchServer,
): Promise<string | undefined> {
  const issuer = SESSION_COOKIE_ISSUERS[kind];
  if (issuer === undefined) return undefined;
  const login = await logIn(serverOf(issuer).url);
  if (login.cookie === null) {
    throw new CheckFailedError(login.problems.map((problem) => `${issuer} at ${serverOf(issuer).url}: ${problem}`));
  }
  return login.cookie;
}

/**
 * Loads `server` for `seconds` and returns the figures with the server's CPU time. With
 * `redis` set, the server is a Redis one, and the result includes redis-server's CPU time.
 */
async function measure(
  server: BenchServer,
  config: BenchConfig,
  seconds: number,
  cookie: string | undefined,
  redis: Redis | null,
): Promise<RoundResult> {
  const target = loadTarget(server);
  const before = await server.stats();
  const redisBefore = redis === null ? 0 : await redisCpuMicros(redis);
  const result = await runLoad(target.url, { connections: config.connections, seconds, cookie, method: target.method });
  const redisAfter = redis === null ? 0 : await redisCpuMicros(redis);
  const after = await server.stats();
  if (result.non2xx > 0 || result.errors > 0) {
    throw new CheckFailedError([
      `${server.kind} at ${server.url}: ${result.non2xx} non-2xx responses and ${result.errors} connection errors under load`,
    ]);
  }
  if (cookie !== undefined) {
    // The cookie must still read as the logged-in session, without a new Set-Cookie, after the load.
    const problems = await checkServer(server.kind, server.url, cookie);
    if (problems.length > 0) throw new CheckFailedError(problems);
  }
  return {
    ...result,
    cpuMicros: after.cpuMicros - before.cpuMicros,
    ...(redis === null ? {} : { redisCpuMicros: redisAfter - redisBefore }),
  };
}

async function benchmark(config: BenchConfig): Promise<Report> {
  const loadAverageAtStart = os.loadavg()[0] ?? 0;
  const redisMissing = redisUnavailableReason();
  const notes = redisMissing === null ? [] : [`The Redis rate limit rows were skipped: ${redisMissing}.`];
  for (const note of notes) log(note);
  const kinds = SERVER_KINDS.filter((kind) => redisMissing === null || !REDIS_KINDS.includes(kind));
  const scenarios = scenariosOf(kinds);

  const estimate = kinds.length * (config.warmupSeconds + config.rounds * config.seconds);
  log(
    `Benchmark: ${config.rounds} rounds of ${config.seconds} s, ${config.warmupSeconds} s warm-up, ` +
      `${config.connections} connections, about ${Math.ceil(estimate)} s of load`,
  );

  const redisServer = redisMissing === null ? await startRedis() : null;
  const redis = redisServer === null ? null : await connectRedis(redisServer.port);
  try {
    if (redisServer !== null) log(`redis-server started on 127.0.0.1:${redisServer.port}`);
    const results = await measureAll(config, kinds, scenarios, redisServer?.port ?? null, redis);
    return {
      config,
      command: describeCommand(),
      build: results.build,
      loadAverageAtStart,
      loadAveragesDuringRounds: results.loadAverages,
      loadAverageAtEnd: os.loadavg()[0] ?? 0,
      scenarios,
      notes,
      results: results.results,
    };
  } finally {
    redis?.disconnect();
    await redisServer?.stop();
  }
}

/**
 * Starts the `kinds` servers, checks them, runs the warm-up and the measured rounds of
 * `scenarios`, checks them again and stops them.
 */
async function measureAll(
  config: BenchConfig,
  kinds: readonly ServerKind[],
  scenarios: Report["scenarios"],
  redisPort: number | null,
  redis: Redis | null,
): Promise<Pick<Report, "build" | "results"> & { loadAverages: number[] }> {
  const servers = new Map<ServerKind, BenchServer>();
  const started = await Promise.all(
    kinds.map((kind) =>
      startServer(kind, isRateLimitKind(kind) ? { rateLimit: rateLimitSettings(kind, "measured", redisPort) } : {}),
    ),
  );
  for (const server of started) servers.set(server.kind, server);
  const serverOf = (kind: ServerKind): BenchServer => servers.get(kind)!;
  const redisOf = (kind: ServerKind): Redis | null => (REDIS_KINDS.includes(kind) ? redis : null);
  const build = serverOf("chirp-hello").build;
  log(`Servers started; chirp imported from ${build ?? "nowhere"}/`);

  await checkAll([...servers.values()], redis);
  const checkerProblems = await checkCheckers(redisPort);
  if (checkerProblems.length > 0) throw new CheckFailedError(checkerProblems);
  log("Correctness checks passed");

  if (config.warmupSeconds > 0) {
    for (const kind of kinds) {
      log(`Warm-up: ${SERVER_LABELS[kind]}`);
      await measure(serverOf(kind), config, config.warmupSeconds, await sessionCookie(kind, serverOf), redisOf(kind));
    }
  }

  const rounds = new Map<ServerKind, RoundResult[]>(kinds.map((kind) => [kind, []]));
  const loadAverages: number[] = [];
  for (let round = 0; round < config.rounds; round++) {
    for (const group of measurementGroups(scenarios)) {
      // Reverse the order every round, so no server always runs first or last on a warmer machine.
      const order = round % 2 === 0 ? group : [...group].reverse();
      for (const kind of order) {
        const cookie = await sessionCookie(kind, serverOf);
        const result = await measure(serverOf(kind), config, config.seconds, cookie, redisOf(kind));
        rounds.get(kind)!.push(result);
        loadAverages.push(os.loadavg()[0] ?? 0);
        log(
          `Round ${round + 1}/${config.rounds} ${SERVER_LABELS[kind]}: ` +
            `${Math.round(result.requestsPerSecond)} requests/s, p99 ${result.p99Ms} ms, ` +
            `server CPU ${Math.round((result.cpuMicros / (result.durationSeconds * 1e6)) * 100)}%`,
        );
      }
    }
  }

  // Check again, so a server that broke under load does not go unnoticed.
  await checkAll([...servers.values()], redis);

  const results: Partial<Record<ServerKind, ServerResults>> = {};
  for (const kind of kinds) {
    const stats = await serverOf(kind).stats();
    results[kind] = { rounds: rounds.get(kind)!, maxRss: stats.maxRss };
  }

  await Promise.all([...servers.values()].map((server) => server.stop()));
  return { build, results, loadAverages };
}

/** Runs the peer comparison, adding the load average after each round to `loadAverages`. */
async function benchmarkPeers(
  config: BenchConfig,
  loadAverages: number[],
): Promise<{ report: Partial<PeerReport>; build: ChirpBuild }> {
  const { security, build } = await importChirp();
  const passwordHash = await security.hashPassword(PASSWORD);
  const report = await runPeers(config, passwordHash, {
    log,
    afterRound: () => loadAverages.push(os.loadavg()[0] ?? 0),
  });
  return { report, build };
}

async function main(): Promise<number> {
  const suite = readSuite();
  const config = readConfig();
  const loadAverageAtStart = os.loadavg()[0] ?? 0;
  const peerLoadAverages: number[] = [];

  const peers = suite === "layers" ? null : await benchmarkPeers(config, peerLoadAverages);
  if (peers !== null) {
    process.stdout.write(`## Side by side with Fastify, Express and Hono\n\n${formatPeerTable(peers.report)}\n\n`);
    await writeFile(CHART_PATH, renderPeerChart(peers.report));
    log(`Wrote ${CHART_PATH}`);
  }
  const layers = suite === "peers" ? null : await benchmark(config);
  if (layers !== null) process.stdout.write(`## Cost of each layer\n\n${formatTable(layers)}\n`);

  const run: RunDescription = {
    config,
    command: describeCommand(),
    build: layers?.build ?? peers?.build ?? null,
    loadAverageAtStart,
    loadAveragesDuringRounds: [...peerLoadAverages, ...(layers?.loadAveragesDuringRounds ?? [])],
    loadAverageAtEnd: os.loadavg()[0] ?? 0,
  };
  const sections: ResultSections = {
    peers: peers === null ? null : formatPeerSection(peers.report),
    layers: layers === null ? null : formatLayerSections(layers),
  };
  await writeFile(RESULTS_PATH, formatResultsPage(run, sections, new Date()));
  log(`Wrote ${RESULTS_PATH}`);

  const summary = [
    ...(peers === null ? [] : formatPeerSummary(peers.report)),
    ...(layers === null ? [] : [...formatSummary(layers), ...layers.notes]),
  ];
  for (const line of summary) log(line);
  return 0;
}

function killAllChildren(): void {
  killAllServers();
  killAllRedisServers();
}

process.on("exit", killAllChildren);
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.on(signal, () => {
    killAllChildren();
    process.exit(130);
  });
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    killAllChildren();
    if (error instanceof CheckFailedError || error instanceof PeerCheckError) {
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

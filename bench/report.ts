import { execFileSync } from "node:child_process";
import { createRequire } from "node:module";
import os from "node:os";
import type { LoadResult } from "./load.js";
import { REDIS_KINDS, type ChirpBuild, type ServerKind } from "./protocol.js";

/** A baseline server and the chirp server measured against it. */
export interface Scenario {
  readonly name: string;
  readonly baseline: ServerKind;
  readonly candidate: ServerKind;
}

/**
 * The first two scenarios compare chirp with bare node:http. The session scenarios compare
 * a route that reads the session with the same chirp route without SessionMiddleware, so
 * their ratios show what sessions cost on top of the framework. The rate limit scenarios
 * compare the app with AuthRateLimitMiddleware and the same app without it, on a route that
 * the middleware does not count (`GET /`) and on the one it counts (`POST /login`).
 */
export const SCENARIOS: readonly Scenario[] = [
  { name: "hello world", baseline: "bare-hello", candidate: "chirp-hello" },
  { name: "template", baseline: "bare-template", candidate: "chirp-template" },
  { name: "session, cookie store", baseline: "chirp-no-session", candidate: "chirp-session-cookie" },
  { name: "session, memory store", baseline: "chirp-no-session", candidate: "chirp-session-memory" },
  { name: "rate limit, other route, memory", baseline: "chirp-no-rate-limit", candidate: "chirp-rate-limit-memory" },
  { name: "rate limit, other route, Redis", baseline: "chirp-no-rate-limit", candidate: "chirp-rate-limit-redis" },
  {
    name: "rate limit, login route, memory",
    baseline: "chirp-no-rate-limit-login",
    candidate: "chirp-rate-limit-memory-login",
  },
  {
    name: "rate limit, login route, Redis",
    baseline: "chirp-no-rate-limit-login",
    candidate: "chirp-rate-limit-redis-login",
  },
];

/** Returns the scenarios whose baseline and candidate are both among `kinds`, in table order. */
export function scenariosOf(kinds: readonly ServerKind[]): Scenario[] {
  return SCENARIOS.filter((scenario) => kinds.includes(scenario.baseline) && kinds.includes(scenario.candidate));
}

export const SERVER_LABELS: Record<ServerKind, string> = {
  "bare-hello": "node:http",
  "chirp-hello": "bengal-chirp",
  "bare-template": "node:http + nunjucks",
  "chirp-template": "bengal-chirp Template()",
  "chirp-no-session": "bengal-chirp without sessions",
  "chirp-session-cookie": "bengal-chirp + SessionMiddleware",
  "chirp-session-memory": "bengal-chirp + SessionMiddleware + MemorySessionStore",
  "chirp-no-rate-limit": "bengal-chirp without rate limit, GET /",
  "chirp-rate-limit-memory": "bengal-chirp + AuthRateLimitMiddleware, memory, GET /",
  "chirp-rate-limit-redis": "bengal-chirp + AuthRateLimitMiddleware, Redis, GET /",
  "chirp-no-rate-limit-login": "bengal-chirp without rate limit, POST /login",
  "chirp-rate-limit-memory-login": "bengal-chirp + AuthRateLimitMiddleware, memory, POST /login",
  "chirp-rate-limit-redis-login": "bengal-chirp + AuthRateLimitMiddleware, Redis, POST /login",
};

/**
 * Groups the servers that run back to back in every round: each baseline, then every
 * candidate measured against it. A baseline shared by several scenarios runs once per round.
 */
export function measurementGroups(scenarios: readonly Scenario[]): ServerKind[][] {
  const groups = new Map<ServerKind, ServerKind[]>();
  for (const scenario of scenarios) {
    const group = groups.get(scenario.baseline) ?? [scenario.baseline];
    group.push(scenario.candidate);
    groups.set(scenario.baseline, group);
  }
  return [...groups.values()];
}

/** Lists each scenario with the servers of its table rows, so a shared baseline gets one row. */
function scenarioRows(scenarios: readonly Scenario[]): { scenario: Scenario; kinds: ServerKind[] }[] {
  const listed = new Set<ServerKind>();
  return scenarios.map((scenario) => {
    const kinds = [scenario.baseline, scenario.candidate].filter((kind) => !listed.has(kind));
    for (const kind of kinds) listed.add(kind);
    return { scenario, kinds };
  });
}

/** Run settings, with durations in seconds. */
export interface BenchConfig {
  warmupSeconds: number;
  seconds: number;
  rounds: number;
  connections: number;
}

/** One measured round of one server. */
export interface RoundResult extends LoadResult {
  /** CPU time the server process used during the round, in microseconds. */
  cpuMicros: number;
  /** CPU time redis-server used during the round, in microseconds, for the Redis servers only. */
  redisCpuMicros?: number;
}

/** Everything measured for one server. */
export interface ServerResults {
  rounds: RoundResult[];
  /** Peak RSS in bytes over the child's lifetime. */
  maxRss: number;
}

/** The results of the layer scenarios, with the facts about the run that measured them. */
export interface Report extends RunDescription {
  /** The scenarios that ran, which leaves out the Redis ones without redis-server. */
  scenarios: readonly Scenario[];
  /** One line for each group of rows left out, with the reason. */
  notes: readonly string[];
  /** Results of every server of `scenarios`. */
  results: Partial<Record<ServerKind, ServerResults>>;
}

/** Returns the results of `kind`, which must be a server of the report's scenarios. */
function resultsOf(report: Report, kind: ServerKind): ServerResults {
  const results = report.results[kind];
  if (results === undefined) throw new Error(`The report has no results for ${kind}`);
  return results;
}

export function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

/** A figure of one round of one server. */
type Metric = (round: RoundResult) => number;

const requestsPerSecond: Metric = (round) => round.requestsPerSecond;
const p99Latency: Metric = (round) => round.p99Ms;
/** Share of one CPU the server used under load. Near 100%, the server was the bottleneck. */
const cpuShare: Metric = (round) => round.cpuMicros / (round.durationSeconds * 1e6);
/**
 * Server CPU time per response in microseconds. Unlike requests/s, it still compares servers
 * when the load generator or other work on the machine is the bottleneck.
 */
const cpuPerRequest: Metric = (round) => round.cpuMicros / round.requests;

function medianOf(results: ServerResults, metric: Metric): number {
  return median(results.rounds.map(metric));
}

/**
 * Computes the median over the rounds of `metric` for `candidate` divided by `metric` for
 * `baseline` in the same round. The servers of a scenario run back to back in every round, so
 * pairing them cancels slow changes in machine load that a ratio of medians would keep.
 */
function pairedRatio(candidate: ServerResults, baseline: ServerResults, metric: Metric): number {
  const ratios = candidate.rounds.flatMap((round, index) => {
    const base = baseline.rounds[index];
    return base === undefined ? [] : [metric(round) / metric(base)];
  });
  return median(ratios);
}

/** Returns the median paired requests/s ratio of a scenario's candidate server to its baseline. */
export function requestsRatio(report: Report, scenario: Scenario): number {
  return pairedRatio(resultsOf(report, scenario.candidate), resultsOf(report, scenario.baseline), requestsPerSecond);
}

function formatInteger(value: number): string {
  return Number.isFinite(value) ? Math.round(value).toLocaleString("en-US") : "n/a";
}

function formatRatio(value: number): string {
  return Number.isFinite(value) ? `${value.toFixed(2)}x` : "n/a";
}

function formatMebibytes(bytes: number): string {
  return (bytes / 2 ** 20).toFixed(0);
}

/** Builds the command line that reproduces this run, with the BENCH_* overrides that were set. */
export function describeCommand(environment: NodeJS.ProcessEnv = process.env): string {
  const overrides = Object.keys(environment)
    .filter((name) => name.startsWith("BENCH_"))
    .sort()
    .map((name) => `${name}=${environment[name] ?? ""}`);
  const command = environment.npm_lifecycle_event === "bench" ? "npm run bench" : "npx tsx bench/run.ts";
  return [...overrides, command].join(" ");
}

function gitDescription(): string {
  try {
    const commit = execFileSync("git", ["rev-parse", "--short", "HEAD"], { encoding: "utf8" }).trim();
    const changed = execFileSync("git", ["status", "--porcelain", "--", "src"], { encoding: "utf8" }).trim();
    return changed === "" ? `commit ${commit}` : `commit ${commit} with uncommitted changes in src/`;
  } catch {
    return "unknown commit (git failed)";
  }
}

function autocannonVersion(): string {
  const require = createRequire(import.meta.url);
  return (require("autocannon/package.json") as { version: string }).version;
}

function describeMachine(): string[] {
  const cpus = os.cpus();
  return [
    `- CPU: ${cpus[0]?.model.trim() ?? "unknown"}, ${cpus.length} logical CPUs`,
    `- Memory: ${(os.totalmem() / 2 ** 30).toFixed(1)} GiB`,
    `- OS: ${os.type()} ${os.release()} ${os.arch()}`,
    `- Node.js: ${process.version}`,
  ];
}

/** Formats the summary table: medians over the rounds and paired ratios to each scenario's baseline. */
export function formatTable(report: Report): string {
  const lines = [
    "| Scenario | Server | Requests/s | vs baseline | p99 latency (ms) | vs baseline | Server CPU | CPU µs/request | vs baseline | Peak RSS (MiB) |",
    "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
  ];
  for (const { scenario, kinds } of scenarioRows(report.scenarios)) {
    const baseline = resultsOf(report, scenario.baseline);
    for (const kind of kinds) {
      const results = resultsOf(report, kind);
      const cells = [
        scenario.name,
        SERVER_LABELS[kind],
        formatInteger(medianOf(results, requestsPerSecond)),
        formatRatio(pairedRatio(results, baseline, requestsPerSecond)),
        medianOf(results, p99Latency).toFixed(1),
        formatRatio(pairedRatio(results, baseline, p99Latency)),
        `${(medianOf(results, cpuShare) * 100).toFixed(0)}%`,
        medianOf(results, cpuPerRequest).toFixed(1),
        formatRatio(pairedRatio(results, baseline, cpuPerRequest)),
        formatMebibytes(results.maxRss),
      ];
      lines.push(`| ${cells.join(" | ")} |`);
    }
  }
  return lines.join("\n");
}

/** The requests/s ratios that bench/README.md aims for, by candidate server. */
const AIMS: Partial<Record<ServerKind, number>> = { "chirp-session-cookie": 0.8 };

/** Formats one line per scenario with its requests/s ratio, and whether it met its aim where it has one. */
export function formatSummary(report: Report): string[] {
  return report.scenarios.map((scenario) => {
    const ratio = requestsRatio(report, scenario);
    const aim = AIMS[scenario.candidate];
    const verdict = aim === undefined ? "" : ` (aim: ${aim.toFixed(2)}x or better, ${ratio >= aim ? "met" : "missed"})`;
    return `- ${scenario.name}: ${formatRatio(ratio)} the requests/s of ${SERVER_LABELS[scenario.baseline]}${verdict}`;
  });
}

/**
 * Formats redis-server's CPU time per request for the Redis scenarios. The Server CPU columns
 * leave it out, because they count the Node.js process alone.
 */
function formatRedisCpu(report: Report): string[] {
  const redisPerRequest: Metric = (round) => (round.redisCpuMicros ?? Number.NaN) / round.requests;
  const bothPerRequest: Metric = (round) => (round.cpuMicros + (round.redisCpuMicros ?? 0)) / round.requests;
  return report.scenarios
    .filter((scenario) => REDIS_KINDS.includes(scenario.candidate))
    .map((scenario) => {
      const candidate = resultsOf(report, scenario.candidate);
      const baseline = resultsOf(report, scenario.baseline);
      return (
        `- ${scenario.name}: redis-server ${medianOf(candidate, redisPerRequest).toFixed(1)} µs/request. ` +
        `The server and redis-server together use ${formatRatio(pairedRatio(candidate, baseline, bothPerRequest))} ` +
        "the CPU µs/request of the baseline."
      );
    });
}

/** Formats requests/s and server CPU of every round, with the paired requests/s ratio of each scenario. */
function formatRounds(report: Report): string {
  const count = report.config.rounds;
  const lines = [
    `| Server | ${Array.from({ length: count }, (_, index) => `Round ${index + 1}`).join(" | ")} |`,
    `| --- |${" ---: |".repeat(count)}`,
  ];
  for (const { scenario, kinds } of scenarioRows(report.scenarios)) {
    const baseline = resultsOf(report, scenario.baseline);
    const candidate = resultsOf(report, scenario.candidate);
    for (const kind of kinds) {
      const cells = resultsOf(report, kind).rounds.map(
        (round) => `${formatInteger(round.requestsPerSecond)} (${(cpuShare(round) * 100).toFixed(0)}%)`,
      );
      lines.push(`| ${SERVER_LABELS[kind]} | ${cells.join(" | ")} |`);
    }
    const ratios = candidate.rounds.map((round, index) => {
      const base = baseline.rounds[index];
      return base === undefined ? "n/a" : formatRatio(round.requestsPerSecond / base.requestsPerSecond);
    });
    lines.push(`| ${scenario.name}: ratio to baseline | ${ratios.join(" | ")} |`);
  }
  return lines.join("\n");
}

function formatLoadDuringRounds(samples: readonly number[]): string {
  if (samples.length === 0) return "n/a";
  return `${median(samples).toFixed(2)} as the median and ${Math.max(...samples).toFixed(2)} as the maximum`;
}

/** Facts about a run of `npm run bench` as a whole, which RESULTS.md lists before the results. */
export interface RunDescription {
  config: BenchConfig;
  command: string;
  /** Copy of bengal-chirp the chirp children imported. */
  build: ChirpBuild | null;
  /** One-minute load average before the servers started. Other work on the machine raises it. */
  loadAverageAtStart: number;
  /** One-minute load average after the measured load of each server in every round. */
  loadAveragesDuringRounds: readonly number[];
  /** One-minute load average after the last round. */
  loadAverageAtEnd: number;
}

/** The sections of RESULTS.md that each suite contributes, with the lines of each. */
export interface ResultSections {
  /** The peer comparison, first because it is what most readers look for. */
  peers: string[] | null;
  /** The cost of each layer of bengal-chirp, from {@link formatLayerSections}. */
  layers: string[] | null;
}

/** Formats `bench/RESULTS.md`: machine, command, settings and the sections of the suites that ran. */
export function formatResultsPage(run: RunDescription, sections: ResultSections, date: Date): string {
  const { config } = run;
  const build =
    run.build === "dist"
      ? "the built `dist/` (run `npm run build` first)"
      : run.build === "src"
        ? "`src/` through tsx (no `dist/` was found, or BENCH_CHIRP=src)"
        : "none";
  return [
    "# Benchmark results",
    "",
    "Written by `bench/run.ts`, and `bench/README.md` explains the method. Absolute numbers from",
    "another machine or another run are not comparable with these, so compare the ratios.",
    "",
    `- Date: ${date.toISOString()}`,
    `- Command: \`${run.command}\``,
    ...describeMachine(),
    `- Framework: ${build}, ${gitDescription()}`,
    `- Load: autocannon ${autocannonVersion()} in the parent process, ${config.connections} connections, ` +
      `no pipelining, 127.0.0.1`,
    `- Rounds: ${config.warmupSeconds} s warm-up per server, then ${config.rounds} rounds of ${config.seconds} s ` +
      "per server. The servers compared with the same baseline run back to back, in an order that reverses every round. " +
      "The tables show medians over the rounds, and each ratio is the median of the per-round ratios to the baseline.",
    `- One-minute load average on ${os.availableParallelism()} CPUs: ${run.loadAverageAtStart.toFixed(2)} ` +
      `before the run, ${formatLoadDuringRounds(run.loadAveragesDuringRounds)} during the rounds ` +
      `and ${run.loadAverageAtEnd.toFixed(2)} after them. The busy server and autocannon add about 2, ` +
      "and other processes on the machine add noise.",
    "",
    ...(sections.peers ?? []),
    ...(sections.layers ?? []),
  ].join("\n");
}

/** Formats the sections of RESULTS.md about the cost of each layer of bengal-chirp. */
export function formatLayerSections(report: Report): string[] {
  return [
    "## Cost of each layer",
    "",
    "Requests/s of each measured server as a ratio to its baseline in the same round, median over the rounds:",
    "",
    ...formatSummary(report),
    "",
    "### All figures",
    "",
    formatTable(report),
    "",
    ...report.notes.flatMap((note) => [note, ""]),
    "The hello world row repeats the comparison of the peer section as a pair, and its aim is judged there.",
    "",
    "The baseline of the hello world and template rows is bare node:http. The baseline of both session rows is",
    "bengal-chirp without SessionMiddleware, which sends the same `Hello alice` and receives a session cookie",
    "with every request as well, so their ratios show what sessions cost on top of the framework.",
    "",
    "The baseline of the rate limit rows is the same app without AuthRateLimitMiddleware. The middleware is",
    "configured for `POST /login` with a limit that the load never reaches, so every `POST /login` is counted",
    "and answered, and `GET /` is not counted.",
    ...(formatRedisCpu(report).length === 0
      ? []
      : [
          "",
          "The Server CPU columns count the Node.js process alone. redis-server used in addition:",
          "",
          ...formatRedisCpu(report),
        ]),
    "",
    "Peak RSS is the child's `process.resourceUsage().maxRSS` at the end of the run. Every child,",
    "baselines included, loads the tsx loader, which adds about the same amount to each.",
    "",
    "### Requests/s per round",
    "",
    "Server CPU share in brackets. A round where it falls well below 100% was slowed by other work on the machine.",
    "",
    formatRounds(report),
    "",
    "autocannon and the server under load run on the same machine. With few CPUs they compete for",
    "them, so absolute numbers are lower than on a machine with spare cores. Both servers of a pair",
    "run under the same conditions, which keeps the ratios meaningful.",
    "",
  ];
}

import { execFileSync } from "node:child_process";
import { createRequire } from "node:module";
import os from "node:os";
import type { LoadResult } from "./load.js";
import type { ChirpBuild, ServerKind } from "./protocol.js";

/** A baseline server and the chirp server measured against it. */
export interface Scenario {
  readonly name: string;
  readonly baseline: ServerKind;
  readonly candidate: ServerKind;
}

/**
 * The first two scenarios compare chirp with bare node:http. The session scenarios compare
 * a route that reads the session with the same chirp route without SessionMiddleware, so
 * their ratios show what sessions cost on top of the framework.
 */
export const SCENARIOS: readonly Scenario[] = [
  { name: "hello world", baseline: "bare-hello", candidate: "chirp-hello" },
  { name: "template", baseline: "bare-template", candidate: "chirp-template" },
  { name: "session, cookie store", baseline: "chirp-no-session", candidate: "chirp-session-cookie" },
  { name: "session, memory store", baseline: "chirp-no-session", candidate: "chirp-session-memory" },
];

export const SERVER_LABELS: Record<ServerKind, string> = {
  "bare-hello": "node:http",
  "chirp-hello": "bengal-chirp",
  "bare-template": "node:http + nunjucks",
  "chirp-template": "bengal-chirp Template()",
  "chirp-no-session": "bengal-chirp without sessions",
  "chirp-session-cookie": "bengal-chirp + SessionMiddleware",
  "chirp-session-memory": "bengal-chirp + SessionMiddleware + MemorySessionStore",
};

/**
 * Groups the servers that run back to back in every round: each baseline, then every
 * candidate measured against it. A baseline shared by several scenarios runs once per round.
 */
export function measurementGroups(scenarios: readonly Scenario[] = SCENARIOS): ServerKind[][] {
  const groups = new Map<ServerKind, ServerKind[]>();
  for (const scenario of scenarios) {
    const group = groups.get(scenario.baseline) ?? [scenario.baseline];
    group.push(scenario.candidate);
    groups.set(scenario.baseline, group);
  }
  return [...groups.values()];
}

/** Lists each scenario with the servers of its table rows, so a shared baseline gets one row. */
function scenarioRows(): { scenario: Scenario; kinds: ServerKind[] }[] {
  const listed = new Set<ServerKind>();
  return SCENARIOS.map((scenario) => {
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
}

/** Everything measured for one server. */
export interface ServerResults {
  rounds: RoundResult[];
  /** Peak RSS in bytes over the child's lifetime. */
  maxRss: number;
}

export interface Report {
  config: BenchConfig;
  command: string;
  build: ChirpBuild | null;
  /** One-minute load average before the servers started. Other work on the machine raises it. */
  loadAverageAtStart: number;
  results: Record<ServerKind, ServerResults>;
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
  return pairedRatio(report.results[scenario.candidate], report.results[scenario.baseline], requestsPerSecond);
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
  for (const { scenario, kinds } of scenarioRows()) {
    const baseline = report.results[scenario.baseline];
    for (const kind of kinds) {
      const results = report.results[kind];
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

/** Formats requests/s and server CPU of every round, with the paired requests/s ratio of each scenario. */
function formatRounds(report: Report): string {
  const count = report.config.rounds;
  const lines = [
    `| Server | ${Array.from({ length: count }, (_, index) => `Round ${index + 1}`).join(" | ")} |`,
    `| --- |${" ---: |".repeat(count)}`,
  ];
  for (const { scenario, kinds } of scenarioRows()) {
    const baseline = report.results[scenario.baseline];
    const candidate = report.results[scenario.candidate];
    for (const kind of kinds) {
      const cells = report.results[kind].rounds.map(
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

/** Formats `bench/RESULTS.md`: machine, command, settings, the summary and every round. */
export function formatResultsPage(report: Report, date: Date): string {
  const { config } = report;
  const build =
    report.build === "dist"
      ? "the built `dist/` (run `npm run build` first)"
      : "`src/` through tsx (no `dist/` was found, or BENCH_CHIRP=src)";
  return [
    "# Benchmark results",
    "",
    "Written by `bench/run.ts`, and `bench/README.md` explains the method. Absolute numbers from",
    "another machine or another run are not comparable with these, so compare the ratios.",
    "",
    `- Date: ${date.toISOString()}`,
    `- Command: \`${report.command}\``,
    ...describeMachine(),
    `- Framework: ${build}, ${gitDescription()}`,
    `- Load: autocannon ${autocannonVersion()} in the parent process, ${config.connections} connections, ` +
      `no pipelining, 127.0.0.1`,
    `- Rounds: ${config.warmupSeconds} s warm-up per server, then ${config.rounds} rounds of ${config.seconds} s ` +
      "per server. The servers compared with the same baseline run back to back, in an order that reverses every round. " +
      "The table shows medians over the rounds, and each ratio is the median of the per-round ratios to the baseline.",
    `- One-minute load average before the run: ${report.loadAverageAtStart.toFixed(2)} ` +
      `on ${os.availableParallelism()} CPUs (other processes on the machine add noise)`,
    "",
    formatTable(report),
    "",
    "The baseline of the hello world and template rows is bare node:http. The baseline of both session rows is",
    "bengal-chirp without SessionMiddleware, which sends the same `Hello alice` and receives a session cookie",
    "with every request as well, so their ratios show what sessions cost on top of the framework.",
    "",
    "Peak RSS is the child's `process.resourceUsage().maxRSS` at the end of the run. Every child,",
    "baselines included, loads the tsx loader, which adds about the same amount to each.",
    "",
    "## Requests/s per round",
    "",
    "Server CPU share in brackets. A round where it falls well below 100% was slowed by other work on the machine.",
    "",
    formatRounds(report),
    "",
    "autocannon and the server under load run on the same machine. With few CPUs they compete for",
    "them, so absolute numbers are lower than on a machine with spare cores. Both servers of a pair",
    "run under the same conditions, which keeps the ratios meaningful.",
    "",
  ].join("\n");
}

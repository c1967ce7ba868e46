/*
 * `npx tsx bench/profile.ts [server kind]`: runs one benchmark server (default chirp-hello)
 * under `node --cpu-prof`, loads it with autocannon for BENCH_DURATION seconds (default 10),
 * and prints the functions with the most CPU time. The servers of the session scenarios get
 * a session cookie from `POST /login` first, and the Redis rate limit servers a redis-server
 * of their own, as in `npm run bench`. Locations in `dist/` are mapped back to `src/` through
 * the build's source maps. The .cpuprofile file stays in bench/results/ for Chrome DevTools.
 *
 * `npx tsx bench/profile.ts peers:STACK:SCENARIO`, such as `peers:chirp:form`, profiles one
 * server of the peer comparison instead, checked and loaded as `npm run bench` does.
 */
import { existsSync } from "node:fs";
import { mkdir, readFile, readdir } from "node:fs/promises";
import { SourceMap, type SourceMapPayload } from "node:module";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { runLoad } from "./load.js";
import { PEER_SCENARIOS, measurePeer, startPeer } from "./peers/run.js";
import { PASSWORD, isPeer } from "./peers/spec.js";
import {
  MAX_SESSION_LOAD_SECONDS,
  REDIS_KINDS,
  SERVER_KINDS,
  SESSION_COOKIE_ISSUERS,
  isRateLimitKind,
  isServerKind,
  type ServerKind,
} from "./protocol.js";
import { rateLimitSettings } from "./rate-limit.js";
import { killAllRedisServers, startRedis } from "./redis.js";
import { checkServer, killAllServers, loadTarget, logIn, startServer } from "./servers.js";
import { hashPassword } from "../src/security/index.js";

const REPOSITORY_ROOT = fileURLToPath(new URL("..", import.meta.url));
const PROFILE_DIRECTORY = fileURLToPath(new URL("results/", import.meta.url));
const TOP = 20;

interface CallFrame {
  functionName: string;
  url: string;
  /** Zero-based. */
  lineNumber: number;
  /** Zero-based. */
  columnNumber: number;
}

interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  hitCount?: number;
  children?: number[];
}

interface CpuProfile {
  nodes: ProfileNode[];
}

/** CPU samples attributed to one function. */
interface FunctionTime {
  name: string;
  location: string;
  framework: boolean;
  self: number;
  total: number;
}

const sourceMaps = new Map<string, SourceMap | null>();

async function sourceMapFor(fileUrl: string): Promise<SourceMap | null> {
  if (!sourceMaps.has(fileUrl)) {
    const mapPath = `${fileURLToPath(fileUrl)}.map`;
    const payload = existsSync(mapPath) ? (JSON.parse(await readFile(mapPath, "utf8")) as SourceMapPayload) : null;
    sourceMaps.set(fileUrl, payload === null ? null : new SourceMap(payload));
  }
  return sourceMaps.get(fileUrl) ?? null;
}

function relativeToRepository(fileUrl: string): string {
  return path.relative(REPOSITORY_ROOT, fileURLToPath(fileUrl));
}

/** Formats a call frame as `file:line`, 1-based, mapped from `dist/` to `src/` when a source map exists. */
async function describeLocation(frame: CallFrame): Promise<string> {
  if (!frame.url.startsWith("file:")) return frame.url === "" ? "(native)" : frame.url;
  const map = await sourceMapFor(frame.url);
  const entry = map?.findEntry(frame.lineNumber, frame.columnNumber);
  if (entry !== undefined && "originalSource" in entry) {
    const original = new URL(entry.originalSource, frame.url).href;
    return `${relativeToRepository(original)}:${entry.originalLine + 1}`;
  }
  return `${relativeToRepository(frame.url)}:${frame.lineNumber + 1}`;
}

function isFramework(frame: CallFrame): boolean {
  const root = pathToFileURL(REPOSITORY_ROOT).href;
  return frame.url.startsWith(`${root}dist/`) || frame.url.startsWith(`${root}src/`);
}

/**
 * Sums the samples of each function: `self` counts samples in the function itself, `total`
 * also those in its callees, each sample once even when the function recurses.
 */
async function summarise(profile: CpuProfile): Promise<{ functions: FunctionTime[]; samples: number }> {
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const childIds = new Set(profile.nodes.flatMap((node) => node.children ?? []));
  const times = new Map<string, FunctionTime>();
  let samples = 0;

  async function timeOf(frame: CallFrame): Promise<FunctionTime> {
    const key = `${frame.functionName}@${frame.url}:${frame.lineNumber}:${frame.columnNumber}`;
    let time = times.get(key);
    if (time === undefined) {
      const name = frame.functionName === "" ? "(anonymous)" : frame.functionName;
      time = { name, location: await describeLocation(frame), framework: isFramework(frame), self: 0, total: 0 };
      times.set(key, time);
    }
    return time;
  }

  // Iterative depth-first walk, so deep stacks cannot overflow the call stack of this script.
  const stack: { node: ProfileNode; path: Set<FunctionTime> }[] = profile.nodes
    .filter((node) => !childIds.has(node.id))
    .map((node) => ({ node, path: new Set<FunctionTime>() }));
  while (stack.length > 0) {
    const { node, path: callers } = stack.pop()!;
    const time = await timeOf(node.callFrame);
    const onPath = new Set(callers).add(time);
    const hits = node.hitCount ?? 0;
    samples += hits;
    time.self += hits;
    for (const caller of onPath) caller.total += hits;
    for (const id of node.children ?? []) {
      const child = byId.get(id);
      if (child !== undefined) stack.push({ node: child, path: onPath });
    }
  }
  return { functions: [...times.values()], samples };
}

function formatRows(functions: readonly FunctionTime[], samples: number): string {
  const percent = (value: number): string => `${((value / samples) * 100).toFixed(1)}%`;
  const lines = ["| Self | Total | Function | Location |", "| ---: | ---: | --- | --- |"];
  for (const time of functions) {
    lines.push(`| ${percent(time.self)} | ${percent(time.total)} | ${time.name} | ${time.location} |`);
  }
  return lines.join("\n");
}

/**
 * Finds the main thread's profile among the files the run created. Node names them
 * `CPU.<date>.<time>.<pid>.<thread id>.<sequence>.cpuprofile`. Thread 0 is the main thread,
 * and the tsx loader thread writes its own.
 */
async function mainThreadProfile(before: ReadonlySet<string>): Promise<string> {
  const created = (await readdir(PROFILE_DIRECTORY)).filter(
    (name) => name.endsWith(".cpuprofile") && !before.has(name) && name.split(".")[4] === "0",
  );
  if (created.length === 0) throw new Error(`The server wrote no main-thread .cpuprofile to ${PROFILE_DIRECTORY}`);
  return path.join(PROFILE_DIRECTORY, created.sort().at(-1)!);
}

/**
 * Logs in to the server that issues `kind`'s session cookie, starting it when it is not the
 * profiled server itself, and returns the cookie. Returns undefined for servers outside the
 * session scenarios.
 */
async function sessionCookie(kind: ServerKind, url: string): Promise<string | undefined> {
  const issuer = SESSION_COOKIE_ISSUERS[kind];
  if (issuer === undefined) return undefined;
  const issuerServer = issuer === kind ? null : await startServer(issuer);
  try {
    const login = await logIn(issuerServer?.url ?? url);
    if (login.cookie === null) throw new Error(`Login to ${issuer} failed:\n  ${login.problems.join("\n  ")}`);
    return login.cookie;
  } finally {
    await issuerServer?.stop();
  }
}

/** Runs the peer server that `argument` (`peers:STACK:SCENARIO`) names under the profiler. */
async function profilePeer(argument: string, seconds: number, execArgv: readonly string[]): Promise<void> {
  const [, peer, scenarioId] = argument.split(":");
  const scenario = PEER_SCENARIOS.find((candidate) => candidate.id === scenarioId);
  if (!isPeer(peer) || scenario === undefined) {
    throw new Error(
      `Invalid peer target ${JSON.stringify(argument)}: expected peers:STACK:SCENARIO with a scenario of ` +
        PEER_SCENARIOS.map((candidate) => candidate.id).join(", "),
    );
  }
  const target = await startPeer(peer, scenario, await hashPassword(PASSWORD), execArgv);
  try {
    process.stderr.write(`Profiling ${argument} (chirp from ${target.server.build ?? "-"}/) for ${seconds} s\n`);
    const result = await measurePeer(
      scenario,
      target,
      { connections: 50, seconds, rounds: 1, warmupSeconds: 0 },
      seconds,
    );
    process.stderr.write(`${Math.round(result.requestsPerSecond)} requests/s under the profiler\n`);
  } finally {
    await target.server.stop();
  }
}

async function main(): Promise<void> {
  const argument = process.argv[2] ?? "chirp-hello";
  if (argument.startsWith("peers:")) {
    const seconds = Number(process.env.BENCH_DURATION ?? 10);
    await mkdir(PROFILE_DIRECTORY, { recursive: true });
    const existing = new Set(await readdir(PROFILE_DIRECTORY));
    await profilePeer(argument, seconds, ["--cpu-prof", `--cpu-prof-dir=${PROFILE_DIRECTORY}`]);
    await printProfile(await mainThreadProfile(existing));
    return;
  }
  if (!isServerKind(argument)) {
    throw new Error(`Invalid server kind ${JSON.stringify(argument)}: expected one of ${SERVER_KINDS.join(", ")}`);
  }
  const kind: ServerKind = argument;
  const seconds = Number(process.env.BENCH_DURATION ?? 10);
  if (!(seconds > 0))
    throw new Error(
      `Invalid BENCH_DURATION=${JSON.stringify(process.env.BENCH_DURATION)}: expected a positive number of seconds`,
    );

  if (SESSION_COOKIE_ISSUERS[kind] !== undefined && seconds > MAX_SESSION_LOAD_SECONDS) {
    throw new Error(
      `Invalid BENCH_DURATION=${seconds} for ${kind}: expected at most ${MAX_SESSION_LOAD_SECONDS} s, ` +
        "because SessionMiddleware re-issues the session cookie after a minute",
    );
  }

  await mkdir(PROFILE_DIRECTORY, { recursive: true });
  const existing = new Set(await readdir(PROFILE_DIRECTORY));
  const redisServer = REDIS_KINDS.includes(kind) ? await startRedis() : null;
  try {
    const server = await startServer(kind, {
      execArgv: ["--cpu-prof", `--cpu-prof-dir=${PROFILE_DIRECTORY}`],
      ...(isRateLimitKind(kind) ? { rateLimit: rateLimitSettings(kind, "measured", redisServer?.port ?? null) } : {}),
    });
    try {
      const cookie = await sessionCookie(kind, server.url);
      const problems = await checkServer(kind, server.url, cookie);
      if (problems.length > 0) throw new Error(`Correctness check failed:\n  ${problems.join("\n  ")}`);
      process.stderr.write(`Profiling ${kind} (chirp from ${server.build ?? "-"}/) for ${seconds} s\n`);
      const target = loadTarget(server);
      const result = await runLoad(target.url, { connections: 50, seconds, cookie, method: target.method });
      process.stderr.write(`${Math.round(result.requestsPerSecond)} requests/s under the profiler\n`);
    } finally {
      await server.stop();
    }
  } finally {
    await redisServer?.stop();
  }

  await printProfile(await mainThreadProfile(existing));
}

/** Prints the functions of the profile `file` with the most CPU time. */
async function printProfile(file: string): Promise<void> {
  const { functions, samples } = await summarise(JSON.parse(await readFile(file, "utf8")) as CpuProfile);
  const bySelf = [...functions].sort((a, b) => b.self - a.self);
  const framework = functions.filter((time) => time.framework);

  const selfOf = (name: string): number => functions.find((time) => time.name === name)?.self ?? 0;
  const busy = samples - selfOf("(idle)");
  const frameworkSelf = framework.reduce((sum, time) => sum + time.self, 0);
  process.stdout.write(`Profile: ${file} (${samples} samples, ${busy} not idle)\n`);
  process.stdout.write(
    `Framework code: ${((frameworkSelf / busy) * 100).toFixed(1)}% of non-idle samples as self time, ` +
      `garbage collector ${((selfOf("(garbage collector)") / busy) * 100).toFixed(1)}%\n\n`,
  );
  process.stdout.write(`## Most self time, all code\n\n${formatRows(bySelf.slice(0, TOP), samples)}\n\n`);
  process.stdout.write(
    `## Framework functions by self time\n\n${formatRows(framework.sort((a, b) => b.self - a.self).slice(0, TOP), samples)}\n\n`,
  );
  process.stdout.write(
    `## Framework functions by total time\n\n${formatRows(framework.sort((a, b) => b.total - a.total).slice(0, TOP), samples)}\n`,
  );
}

function killAllChildren(): void {
  killAllServers();
  killAllRedisServers();
}

process.on("exit", killAllChildren);
main().catch((error: unknown) => {
  killAllChildren();
  process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exitCode = 1;
});

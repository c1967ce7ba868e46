/*
 * The peer comparison of `npm run bench`: for each scenario, starts one server per stack,
 * checks them, warms them up and loads them in rounds whose order reverses every round.
 */
import { fileURLToPath } from "node:url";
import { runLoad, type LoadSettings } from "../load.js";
import type { BenchConfig, RoundResult } from "../report.js";
import { startChildServer, type ChildServer } from "../servers.js";
import {
  NOTE_TITLE,
  checkAccountPage,
  checkHardened,
  checkHello,
  exhaustLoginLimit,
  logIn,
  type LoggedIn,
} from "./client.js";
import { CSRF_FIELD, PEER_LABELS, PEERS, USER, PASSWORD, type Peer, type PeerApp, type PeerSettings } from "./spec.js";

const CHILD_ENTRY = fileURLToPath(new URL("child.ts", import.meta.url));

/** Concurrent password logins during the burst scenario, each a GET of the form and a POST. */
export const BURST_LOGINS = 8;

/** `POST /login` limit per client in the scenarios that do not measure the limit. */
const HIGH_LOGIN_LIMIT = 1_000_000;

/** `POST /login` limit per client in the rate limit scenario. */
const LOGIN_LIMIT = 5;

export interface PeerScenario {
  readonly id: "hello" | "page" | "form" | "login-429" | "burst";
  readonly name: string;
  readonly app: PeerApp;
  readonly loginLimit: number;
  /** The status every load request must get. */
  readonly status: number;
}

export const PEER_SCENARIOS: readonly PeerScenario[] = [
  { id: "hello", name: "hello world", app: "hello", loginLimit: HIGH_LOGIN_LIMIT, status: 200 },
  { id: "page", name: "authenticated page", app: "hardened", loginLimit: HIGH_LOGIN_LIMIT, status: 200 },
  { id: "form", name: "CSRF-checked form POST", app: "hardened", loginLimit: HIGH_LOGIN_LIMIT, status: 200 },
  { id: "login-429", name: "rate-limited login, 429", app: "hardened", loginLimit: LOGIN_LIMIT, status: 429 },
  { id: "burst", name: "page reads during a login burst", app: "hardened", loginLimit: HIGH_LOGIN_LIMIT, status: 200 },
];

/** One measured round of one stack. In the burst scenario, the load figures are the readers'. */
export interface PeerRound extends RoundResult {
  /** Successful logins per second during the round, in the burst scenario only. */
  loginsPerSecond?: number;
}

export interface PeerResults {
  rounds: PeerRound[];
  /** Peak RSS in bytes over the child's lifetime. */
  maxRss: number;
}

/** Results by scenario id and stack. */
export type PeerReport = Record<PeerScenario["id"], Record<Peer, PeerResults>>;

/** A failed correctness check of the peer comparison. */
export class PeerCheckError extends Error {
  constructor(readonly problems: readonly string[]) {
    super(`Correctness check failed:\n  ${problems.join("\n  ")}`);
  }
}

/** A started stack with the load it gets in one scenario. */
export interface Target {
  peer: Peer;
  server: ChildServer;
  load: Omit<LoadSettings, "connections" | "seconds"> & { url: string };
  /** Checks the server again after a round, so a stack that broke under load does not go unnoticed. */
  recheck(): Promise<string[]>;
}

function fail(peer: Peer, url: string, problems: readonly string[]): never {
  throw new PeerCheckError(problems.map((problem) => `${PEER_LABELS[peer]} at ${url}: ${problem}`));
}

/** Returns the load of a logged-in session: the account page, or a note post with the session's token. */
function sessionLoad(scenario: PeerScenario, url: string, session: LoggedIn): Target["load"] {
  const cookie = session.jar.header();
  if (scenario.id === "page" || scenario.id === "burst") return { url: new URL("account", url).href, cookie };
  const origin = new URL(url).origin;
  const headers = { "content-type": "application/x-www-form-urlencoded", origin };
  if (scenario.id === "form") {
    const body = new URLSearchParams({ [CSRF_FIELD]: session.token, title: NOTE_TITLE }).toString();
    return { url: new URL("notes", url).href, method: "POST", cookie, headers, body };
  }
  const body = new URLSearchParams({ [CSRF_FIELD]: session.token, email: USER.email, password: PASSWORD }).toString();
  return { url: new URL("login", url).href, method: "POST", cookie, headers, body };
}

/**
 * Starts the stack's server for `scenario`, checks it and returns what its load sends.
 * `execArgv` adds Node.js flags to the child, such as `--cpu-prof`.
 */
export async function startPeer(
  peer: Peer,
  scenario: PeerScenario,
  passwordHash: string,
  execArgv: readonly string[] = [],
): Promise<Target> {
  const settings: PeerSettings = { loginLimit: scenario.loginLimit, passwordHash };
  const server = await startChildServer(CHILD_ENTRY, [peer, scenario.app, JSON.stringify(settings)], { execArgv });
  try {
    if (scenario.app === "hello") {
      const problems = await checkHello(server.url);
      if (problems.length > 0) fail(peer, server.url, problems);
      return { peer, server, load: { url: server.url }, recheck: () => checkHello(server.url) };
    }
    const { problems, session } = await checkHardened(peer, server.url);
    if (session === null || problems.length > 0) fail(peer, server.url, problems);
    if (scenario.id === "login-429") {
      const limitProblems = await exhaustLoginLimit(server.url, scenario.loginLimit);
      if (limitProblems.length > 0) fail(peer, server.url, limitProblems);
    }
    return {
      peer,
      server,
      load: sessionLoad(scenario, server.url, session),
      recheck: async () => (await checkAccountPage(peer, server.url, session.jar)).problems,
    };
  } catch (error) {
    await server.stop();
    throw error;
  }
}

/** Logs in over and over from `BURST_LOGINS` clients until `stop` resolves; returns the logins that succeeded. */
async function loginBurst(url: string, until: Promise<unknown>): Promise<{ logins: number; problems: string[] }> {
  let stopped = false;
  void until.finally(() => {
    stopped = true;
  });
  let logins = 0;
  const problems: string[] = [];
  async function client(): Promise<void> {
    while (!stopped && problems.length === 0) {
      const { response } = await logIn(url);
      if (response.status === 303) logins++;
      else problems.push(`a login during the burst answered ${response.status}, expected 303`);
    }
  }
  await Promise.all(Array.from({ length: BURST_LOGINS }, client));
  return { logins, problems };
}

/** Loads one target for `seconds` and returns the round, after checking every status. */
export async function measurePeer(
  scenario: PeerScenario,
  target: Target,
  config: BenchConfig,
  seconds: number,
): Promise<PeerRound> {
  const before = await target.server.stats();
  const readers = runLoad(target.load.url, { ...target.load, connections: config.connections, seconds });
  const burst = scenario.id === "burst" ? await loginBurst(target.server.url, readers) : null;
  const result = await readers;
  const after = await target.server.stats();

  const problems = [...(burst?.problems ?? [])];
  const expected = result.statuses[String(scenario.status)] ?? 0;
  if (result.errors > 0 || expected !== result.requests) {
    problems.push(
      `${result.requests} responses with statuses ${JSON.stringify(result.statuses)} and ` +
        `${result.errors} connection errors under load, expected ${scenario.status} only`,
    );
  }
  problems.push(...(await target.recheck()));
  if (problems.length > 0) fail(target.peer, target.server.url, problems);

  return {
    ...result,
    cpuMicros: after.cpuMicros - before.cpuMicros,
    ...(burst === null ? {} : { loginsPerSecond: burst.logins / result.durationSeconds }),
  };
}

/** Callbacks and choices of {@link runPeers}. */
export interface PeerRunOptions {
  log: (message: string) => void;
  /** Called after each measured round of each stack, such as to sample the load average. */
  afterRound?: () => void;
  /** Default: all of {@link PEER_SCENARIOS}. */
  scenarios?: readonly PeerScenario[];
}

/** Runs the scenarios of the peer comparison. `passwordHash` is the argon2id hash of PASSWORD. */
export async function runPeers(
  config: BenchConfig,
  passwordHash: string,
  { log, afterRound, scenarios = PEER_SCENARIOS }: PeerRunOptions,
): Promise<Partial<PeerReport>> {
  const report: Partial<PeerReport> = {};
  for (const scenario of scenarios) {
    // Started one at a time, so that the logins of the checks do not compete for the CPUs.
    const targets: Target[] = [];
    try {
      for (const peer of PEERS) targets.push(await startPeer(peer, scenario, passwordHash));
      log(`Peers, ${scenario.name}: servers started and checked`);

      if (config.warmupSeconds > 0) {
        for (const target of targets) await measurePeer(scenario, target, config, config.warmupSeconds);
      }
      const rounds = new Map<Peer, PeerRound[]>(PEERS.map((peer) => [peer, []]));
      for (let round = 0; round < config.rounds; round++) {
        const order = round % 2 === 0 ? targets : [...targets].reverse();
        for (const target of order) {
          const result = await measurePeer(scenario, target, config, config.seconds);
          rounds.get(target.peer)!.push(result);
          afterRound?.();
          const logins = result.loginsPerSecond === undefined ? "" : `, ${result.loginsPerSecond.toFixed(1)} logins/s`;
          log(
            `Peers, ${scenario.name}, round ${round + 1}/${config.rounds}, ${PEER_LABELS[target.peer]}: ` +
              `${Math.round(result.requestsPerSecond)} requests/s, p99 ${result.p99Ms} ms${logins}`,
          );
        }
      }

      const results = {} as Record<Peer, PeerResults>;
      for (const target of targets) {
        results[target.peer] = { rounds: rounds.get(target.peer)!, maxRss: (await target.server.stats()).maxRss };
      }
      report[scenario.id] = results;
    } finally {
      await Promise.all(targets.map((target) => target.server.stop()));
    }
  }
  return report;
}

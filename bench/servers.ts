import { fork, type ChildProcess } from "node:child_process";
import { fileURLToPath } from "node:url";
import { PAGE_EXPECTED, PAGE_FORBIDDEN } from "./page.js";
import {
  LOGIN_BODY,
  LOGIN_LOAD_KINDS,
  SESSION_KINDS,
  SESSION_USER,
  type ChildMessage,
  type ChirpBuild,
  type ChildStats,
  type ParentMessage,
  type RateLimitSettings,
  type ServerKind,
} from "./protocol.js";

const CHILD_ENTRY = fileURLToPath(new URL("child.ts", import.meta.url));
const REPOSITORY_ROOT = fileURLToPath(new URL("..", import.meta.url));
const START_TIMEOUT_MS = 30_000;
const REPLY_TIMEOUT_MS = 5_000;
const STOP_TIMEOUT_MS = 5_000;

/** A benchmark server running in a child process. */
export interface BenchServer {
  readonly kind: ServerKind;
  /** Base URL on 127.0.0.1, ending in a slash. */
  readonly url: string;
  /** Copy of the framework that the child imported, or null for the bare node:http servers. */
  readonly build: ChirpBuild | null;
  readonly child: ChildProcess;
  /** Asks the child for its memory and CPU usage. */
  stats(): Promise<ChildStats>;
  /** Stops the server and waits for the child to exit, killing it if it does not exit in time. */
  stop(): Promise<void>;
}

export interface StartOptions {
  /** Extra Node.js flags for the child, such as `--cpu-prof`. */
  execArgv?: readonly string[];
  /** Extra environment variables for the child, such as `BENCH_CHIRP=src`. */
  env?: Readonly<Record<string, string>>;
  /**
   * Settings of a rate limit server. Without them, the child counts up to UNREACHABLE_LIMIT
   * and a Redis kind fails to start.
   */
  rateLimit?: RateLimitSettings;
}

const running = new Set<ChildProcess>();

/** Kills every child that is still running. Safe to call from an `exit` handler. */
export function killAllServers(): void {
  for (const child of running) child.kill("SIGKILL");
  running.clear();
}

function nextMessage<T extends ChildMessage["type"]>(
  child: ChildProcess,
  type: T,
  timeoutMs: number,
): Promise<Extract<ChildMessage, { type: T }>> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      cleanUp();
      reject(new Error(`Benchmark child ${String(child.pid)} sent no "${type}" message within ${timeoutMs} ms`));
    }, timeoutMs);
    function onMessage(message: ChildMessage): void {
      if (message.type === type) {
        cleanUp();
        resolve(message as Extract<ChildMessage, { type: T }>);
      } else if (message.type === "failed") {
        cleanUp();
        reject(new Error(`Benchmark child ${String(child.pid)} failed: ${message.message}`));
      }
    }
    function onExit(code: number | null, signal: NodeJS.Signals | null): void {
      cleanUp();
      reject(new Error(`Benchmark child ${String(child.pid)} exited (code ${String(code)}, signal ${String(signal)})`));
    }
    function cleanUp(): void {
      clearTimeout(timer);
      child.off("message", onMessage);
      child.off("exit", onExit);
    }
    child.on("message", onMessage);
    child.on("exit", onExit);
  });
}

function waitForExit(child: ChildProcess, timeoutMs: number): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
    child.once("exit", () => {
      clearTimeout(timer);
      resolve();
    });
  });
}

/** Forks `bench/child.ts` for `kind` and resolves once it listens on 127.0.0.1. */
export async function startServer(kind: ServerKind, options: StartOptions = {}): Promise<BenchServer> {
  const args = options.rateLimit === undefined ? [kind] : [kind, JSON.stringify(options.rateLimit)];
  return { kind, ...(await startChildServer(CHILD_ENTRY, args, options)) };
}

/**
 * A server in a child process that follows the protocol of `protocol.ts`: it reports
 * "listening" with its port, replies to "stats" and exits on "stop".
 */
export type ChildServer = Omit<BenchServer, "kind">;

/** Forks the server script `entry` with `args` and resolves once it listens on 127.0.0.1. */
export async function startChildServer(
  entry: string,
  args: readonly string[],
  options: Pick<StartOptions, "execArgv" | "env"> = {},
): Promise<ChildServer> {
  const child = fork(entry, args, {
    cwd: REPOSITORY_ROOT,
    // Explicit flags, so the child does not inherit the test runner's or the tsx CLI's flags.
    execArgv: ["--import", "tsx", ...(options.execArgv ?? [])],
    env: { ...process.env, NODE_ENV: "production", ...options.env },
    stdio: ["ignore", "inherit", "inherit", "ipc"],
  });
  running.add(child);
  child.once("exit", () => running.delete(child));

  let listening: Extract<ChildMessage, { type: "listening" }>;
  try {
    listening = await nextMessage(child, "listening", START_TIMEOUT_MS);
  } catch (error) {
    child.kill("SIGKILL");
    throw error;
  }

  return {
    url: `http://127.0.0.1:${listening.port}/`,
    build: listening.build,
    child,
    async stats() {
      const reply = nextMessage(child, "stats", REPLY_TIMEOUT_MS);
      child.send({ type: "stats" } satisfies ParentMessage);
      return (await reply).stats;
    },
    async stop() {
      if (child.connected) child.send({ type: "stop" } satisfies ParentMessage);
      await waitForExit(child, STOP_TIMEOUT_MS);
    },
  };
}

/** The request that loads a server, which its check sends too. */
export interface LoadTarget {
  method: "GET" | "POST";
  /** Absolute URL on 127.0.0.1. */
  url: string;
}

/** Returns the request that loads `server`: `POST /login` for the login kinds, else `GET /`. */
export function loadTarget(server: Pick<BenchServer, "kind" | "url">): LoadTarget {
  return LOGIN_LOAD_KINDS.includes(server.kind)
    ? { method: "POST", url: new URL("login", server.url).href }
    : { method: "GET", url: server.url };
}

/** Body check of each server kind. */
interface Expectation {
  body: (text: string) => string[];
}

function textProblems(text: string, expected: string): string[] {
  return text === expected
    ? []
    : [`body is ${JSON.stringify(text.slice(0, 80))}, expected ${JSON.stringify(expected)}`];
}

function helloProblems(text: string): string[] {
  return textProblems(text, "Hello");
}

function greetingProblems(text: string): string[] {
  return textProblems(text, `Hello ${SESSION_USER}`);
}

function loginProblems(text: string): string[] {
  return textProblems(text, LOGIN_BODY);
}

function pageProblems(text: string): string[] {
  const problems: string[] = [];
  for (const expected of PAGE_EXPECTED) {
    if (!text.includes(expected)) problems.push(`body lacks ${JSON.stringify(expected)}`);
  }
  for (const forbidden of PAGE_FORBIDDEN) {
    if (text.includes(forbidden)) problems.push(`body contains unescaped ${JSON.stringify(forbidden)}`);
  }
  const items = text.split("<li ").length - 1;
  if (items !== 10) problems.push(`body has ${items} list items, expected 10`);
  return problems;
}

const EXPECTATIONS: Record<ServerKind, Expectation> = {
  "bare-hello": { body: helloProblems },
  "chirp-hello": { body: helloProblems },
  "bare-template": { body: pageProblems },
  "chirp-template": { body: pageProblems },
  "chirp-no-session": { body: greetingProblems },
  "chirp-session-cookie": { body: greetingProblems },
  "chirp-session-memory": { body: greetingProblems },
  "chirp-no-rate-limit": { body: helloProblems },
  "chirp-rate-limit-memory": { body: helloProblems },
  "chirp-rate-limit-redis": { body: helloProblems },
  "chirp-no-rate-limit-login": { body: loginProblems },
  "chirp-rate-limit-memory-login": { body: loginProblems },
  "chirp-rate-limit-redis-login": { body: loginProblems },
};

/** The session cookie from `POST /login` as `name=value` for a Cookie header, or null with the problems. */
export interface Login {
  cookie: string | null;
  problems: string[];
}

/**
 * Logs in to the session server at `url` with `POST /login` and returns the one session
 * cookie it must set.
 */
export async function logIn(url: string): Promise<Login> {
  const response = await fetch(new URL("login", url), {
    method: "POST",
    signal: AbortSignal.timeout(REPLY_TIMEOUT_MS),
  });
  await response.arrayBuffer();
  const problems: string[] = [];
  if (response.status !== 200) problems.push(`POST /login status is ${response.status}, expected 200`);
  const setCookies = response.headers.getSetCookie();
  // A browser sends back the name=value pair before the first ";". The rest are attributes.
  const pair = setCookies[0]?.split(";")[0] ?? "";
  if (setCookies.length !== 1 || !/^chirp_session=[A-Za-z0-9_-]+$/.test(pair)) {
    problems.push(`POST /login sets ${JSON.stringify(setCookies)}, expected one chirp_session cookie`);
  }
  return problems.length === 0 ? { cookie: pair, problems } : { cookie: null, problems };
}

/**
 * Sends the `target` request, with a Cookie header when `cookie` is set, and checks status
 * 200, an HTML content type, no Set-Cookie and the body.
 */
async function checkRead(target: LoadTarget, cookie: string | undefined, body: Expectation["body"]): Promise<string[]> {
  const response = await fetch(target.url, {
    method: target.method,
    headers: cookie === undefined ? {} : { cookie },
    signal: AbortSignal.timeout(REPLY_TIMEOUT_MS),
  });
  const text = await response.text();
  const problems: string[] = [];
  if (response.status !== 200) problems.push(`status is ${response.status}, expected 200`);
  const contentType = response.headers.get("content-type") ?? "";
  if (!contentType.startsWith("text/html")) {
    problems.push(`content-type is ${JSON.stringify(contentType)}, expected text/html`);
  }
  // A read-only request must leave the session as it is. A Set-Cookie here means the server
  // rewrites or ends the session on every request, which the load would then measure.
  const setCookies = response.headers.getSetCookie();
  if (setCookies.length > 0) {
    const path = new URL(target.url).pathname;
    problems.push(`${target.method} ${path} sets ${JSON.stringify(setCookies)}, expected no Set-Cookie`);
  }
  problems.push(...body(text));
  return problems;
}

/**
 * Checks that a session server reads the session from the cookie: with `cookie` it greets
 * the logged-in user, and without a cookie it greets "anonymous". Logs in first when
 * `cookie` is undefined.
 */
async function checkSessionServer(kind: ServerKind, url: string, cookie: string | undefined): Promise<string[]> {
  let sessionCookie = cookie;
  if (sessionCookie === undefined) {
    const login = await logIn(url);
    if (login.cookie === null) return login.problems;
    sessionCookie = login.cookie;
  }
  const target = loadTarget({ kind, url });
  const problems = await checkRead(target, sessionCookie, EXPECTATIONS[kind].body);
  const anonymous = await checkRead(target, undefined, (text) => textProblems(text, "Hello anonymous"));
  return [...problems, ...anonymous.map((problem) => `without a cookie: ${problem}`)];
}

/**
 * Sends the request that loads a `kind` server at `url` (see {@link loadTarget}) and checks
 * the response it must send: status 200, an HTML content type, no Set-Cookie and the
 * expected body. Session servers are checked with and without `cookie`, or with a fresh login
 * when it is undefined, and the other servers with `cookie` when it is set. Returns the
 * problems found, empty when the responses are correct, so no server can win the benchmark
 * by skipping work.
 */
export async function checkServer(kind: ServerKind, url: string, cookie?: string): Promise<string[]> {
  const problems = SESSION_KINDS.includes(kind)
    ? await checkSessionServer(kind, url, cookie)
    : await checkRead(loadTarget({ kind, url }), cookie, EXPECTATIONS[kind].body);
  return problems.map((problem) => `${kind} at ${url}: ${problem}`);
}

import { fork, type ChildProcess } from "node:child_process";
import { fileURLToPath } from "node:url";
import { PAGE_EXPECTED, PAGE_FORBIDDEN } from "./page.js";
import type { ChildMessage, ChirpBuild, ChildStats, ParentMessage, ServerKind } from "./protocol.js";

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
  const child = fork(CHILD_ENTRY, [kind], {
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
    kind,
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

/** Body check of each server kind. */
interface Expectation {
  body: (text: string) => string[];
}

function helloProblems(text: string): string[] {
  return text === "Hello" ? [] : [`body is ${JSON.stringify(text.slice(0, 80))}, expected "Hello"`];
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
};

/**
 * Requests `url` once and checks the response a `kind` server must send: status 200, an HTML
 * content type and the expected body. Returns the problems found, empty when the response is
 * correct, so no server can win the benchmark by skipping work.
 */
export async function checkServer(kind: ServerKind, url: string): Promise<string[]> {
  const response = await fetch(url, { signal: AbortSignal.timeout(REPLY_TIMEOUT_MS) });
  const text = await response.text();
  const problems: string[] = [];
  if (response.status !== 200) problems.push(`status is ${response.status}, expected 200`);
  const contentType = response.headers.get("content-type") ?? "";
  if (!contentType.startsWith("text/html")) {
    problems.push(`content-type is ${JSON.stringify(contentType)}, expected text/html`);
  }
  problems.push(...EXPECTATIONS[kind].body(text));
  return problems.map((problem) => `${kind} at ${url}: ${problem}`);
}

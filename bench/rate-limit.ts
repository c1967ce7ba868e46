/*
 * Checks of the rate limit scenarios that go beyond one request per server: a checker server
 * with a small limit must block, and the measured servers must count `POST /login` and
 * nothing else.
 */
import type { Redis } from "ioredis";
import { LOGIN_BODY, REDIS_KINDS, UNREACHABLE_LIMIT, type RateLimitSettings, type ServerKind } from "./protocol.js";
import { startServer, type BenchServer } from "./servers.js";

const REPLY_TIMEOUT_MS = 5_000;
/** `requests` of the checker servers. */
export const CHECK_LIMIT = 2;
/** blockSeconds of AuthRateLimitMiddleware, which the servers leave at its default. */
const BLOCK_SECONDS = 300;
/** The memory and Redis servers with AuthRateLimitMiddleware, as a checker runs them. */
const CHECKER_KINDS: readonly ServerKind[] = ["chirp-rate-limit-memory-login", "chirp-rate-limit-redis-login"];

/** Whether a server counts for the benchmark or only checks that the limit blocks. */
type Role = "measured" | "checker";

/**
 * Returns the key prefix of a Redis server, distinct per kind and role. The servers share one
 * redis-server and count the same client address, so with one prefix a blocked checker would
 * block the measured servers too.
 */
export function redisKeyPrefix(kind: ServerKind, role: Role): string {
  return `chirp-bench:${role}:${kind}:`;
}

/**
 * Returns the settings that start a `kind` server in `role`: measured servers count up to
 * UNREACHABLE_LIMIT, checkers up to CHECK_LIMIT. `redisPort` is needed for the Redis kinds.
 */
export function rateLimitSettings(kind: ServerKind, role: Role, redisPort: number | null): RateLimitSettings {
  const requests = role === "measured" ? UNREACHABLE_LIMIT : CHECK_LIMIT;
  if (!REDIS_KINDS.includes(kind)) return { requests };
  if (redisPort === null) throw new Error(`${kind} needs a redis-server, and none was started`);
  return { requests, redisPort, redisKeyPrefix: redisKeyPrefix(kind, role) };
}

interface Reply {
  status: number;
  retryAfter: string | null;
  text: string;
}

async function send(url: string, method: "GET" | "POST"): Promise<Reply> {
  const response = await fetch(url, { method, signal: AbortSignal.timeout(REPLY_TIMEOUT_MS) });
  return { status: response.status, retryAfter: response.headers.get("retry-after"), text: await response.text() };
}

function okProblems(label: string, reply: Reply, body: string): string[] {
  if (reply.status === 200 && reply.text === body) return [];
  return [
    `${label}: status ${reply.status} and body ${JSON.stringify(reply.text.slice(0, 80))}, expected 200 and ${JSON.stringify(body)}`,
  ];
}

/**
 * Checks a server that AuthRateLimitMiddleware limits to `limit` logins per window, as a
 * client that it has not counted yet. `GET /` must return 200 on 2 × `limit` + 1 requests,
 * which shows that it is not counted. The first `limit` logins must return 200 and the next
 * two 429 with a Retry-After of 1 to 300 seconds. `GET /` must still return 200 while the
 * client is blocked.
 */
export async function checkRateLimit(url: string, limit: number): Promise<string[]> {
  const home = new URL("/", url).href;
  const login = new URL("/login", url).href;
  const problems: string[] = [];

  for (let index = 1; index <= 2 * limit + 1; index++) {
    problems.push(...okProblems(`GET / number ${index}`, await send(home, "GET"), "Hello"));
  }
  for (let index = 1; index <= limit; index++) {
    problems.push(...okProblems(`POST /login number ${index}`, await send(login, "POST"), LOGIN_BODY));
  }
  for (let index = limit + 1; index <= limit + 2; index++) {
    const reply = await send(login, "POST");
    const retryAfter = Number(reply.retryAfter);
    if (reply.status !== 429) problems.push(`POST /login number ${index}: status ${reply.status}, expected 429`);
    if (!Number.isInteger(retryAfter) || retryAfter < 1 || retryAfter > BLOCK_SECONDS) {
      problems.push(
        `POST /login number ${index}: Retry-After ${JSON.stringify(reply.retryAfter)}, expected 1 to ${BLOCK_SECONDS} seconds`,
      );
    }
  }
  problems.push(...okProblems("GET / while blocked", await send(home, "GET"), "Hello"));
  return problems.map((problem) => `rate limit checker at ${url}: ${problem}`);
}

/**
 * Starts a checker server with CHECK_LIMIT for the memory backend, and for Redis when
 * `redisPort` is set, runs {@link checkRateLimit} on it and stops it. Returns the problems.
 */
export async function checkCheckers(redisPort: number | null): Promise<string[]> {
  const kinds = CHECKER_KINDS.filter((kind) => redisPort !== null || !REDIS_KINDS.includes(kind));
  const problems = await Promise.all(
    kinds.map(async (kind) => {
      const server = await startServer(kind, { rateLimit: rateLimitSettings(kind, "checker", redisPort) });
      try {
        return (await checkRateLimit(server.url, CHECK_LIMIT)).map((problem) => `${kind}: ${problem}`);
      } finally {
        await server.stop();
      }
    }),
  );
  return problems.flat();
}

/** Reads the counter of the one key under `prefix`, or returns the problem. */
async function readCounter(redis: Redis, prefix: string): Promise<{ count: number } | { problem: string }> {
  const keys = await redis.keys(`${prefix}*`);
  const value = keys.length === 1 && !keys[0]!.endsWith(":blocked") ? await redis.get(keys[0]!) : null;
  const count = Number(value);
  if (value === null || !Number.isSafeInteger(count) || count < 1) {
    return { problem: `Redis holds ${JSON.stringify(keys)} under ${prefix}, expected one counter` };
  }
  return { count };
}

/**
 * Checks that a measured rate limit server counts `POST /login` and nothing else, after
 * checkServer has sent it at least one request. The memory servers report the keys that
 * their backend tracks: one client for the login kind, none for the `GET /` kind. For the
 * Redis servers, the harness reads Redis: the `GET /` kind writes no key, and one more
 * `POST /login` adds one to the login kind's counter, or starts a new window at 1.
 */
export async function checkCounting(server: BenchServer, redis: Redis | null): Promise<string[]> {
  const counted = server.kind.endsWith("-login");
  const problems: string[] = [];
  if (server.kind === "chirp-rate-limit-memory" || server.kind === "chirp-rate-limit-memory-login") {
    const keys = (await server.stats()).rateLimitKeys;
    const expected = counted ? 1 : 0;
    if (keys === undefined) problems.push("the server reports no MemoryRateLimitBackend");
    else if (keys !== expected) problems.push(`the memory backend tracks ${keys} keys, expected ${expected}`);
  } else if (REDIS_KINDS.includes(server.kind)) {
    if (redis === null) throw new Error(`Checking ${server.kind} needs a Redis client`);
    const prefix = redisKeyPrefix(server.kind, "measured");
    if (!counted) {
      const keys = await redis.keys(`${prefix}*`);
      if (keys.length > 0) problems.push(`Redis holds ${JSON.stringify(keys)}, expected no key under ${prefix}`);
    } else {
      const before = await readCounter(redis, prefix);
      const reply = await send(new URL("/login", server.url).href, "POST");
      problems.push(...okProblems("POST /login", reply, LOGIN_BODY));
      const after = await readCounter(redis, prefix);
      if ("problem" in before) problems.push(before.problem);
      else if ("problem" in after) problems.push(after.problem);
      else if (after.count !== before.count + 1 && after.count !== 1) {
        problems.push(`one POST /login moved the Redis counter from ${before.count} to ${after.count}, expected +1`);
      }
    }
  }
  return problems.map((problem) => `${server.kind} at ${server.url}: ${problem}`);
}

/** Returns the CPU time that redis-server has used since it started, in microseconds, from INFO cpu. */
export async function redisCpuMicros(redis: Redis): Promise<number> {
  const info = await redis.info("cpu");
  const field = (name: string): number => {
    const match = new RegExp(`^${name}:([\\d.]+)\\r?$`, "m").exec(info);
    if (match === null) throw new Error(`Redis INFO cpu has no ${name}: ${JSON.stringify(info)}`);
    return Number(match[1]);
  };
  return Math.round((field("used_cpu_sys") + field("used_cpu_user")) * 1e6);
}

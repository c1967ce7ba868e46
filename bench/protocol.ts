/** The benchmark servers. Each runs in its own child process started from `child.ts`. */
export const SERVER_KINDS = [
  "bare-hello",
  "chirp-hello",
  "bare-template",
  "chirp-template",
  "chirp-no-session",
  "chirp-session-cookie",
  "chirp-session-memory",
  "chirp-no-rate-limit",
  "chirp-rate-limit-memory",
  "chirp-rate-limit-redis",
  "chirp-no-rate-limit-login",
  "chirp-rate-limit-memory-login",
  "chirp-rate-limit-redis-login",
] as const;

export type ServerKind = (typeof SERVER_KINDS)[number];

/** The user that `POST /login` stores in the session, which the session route greets. */
export const SESSION_USER = "alice";

/** Servers with SessionMiddleware. Each one issues a session at `POST /login`. */
export const SESSION_KINDS: readonly ServerKind[] = ["chirp-session-cookie", "chirp-session-memory"];

/**
 * Maximum length of a load run on one session cookie, in seconds. SessionMiddleware
 * re-issues a cookie whose last write is a minute old (its touch interval), and the load
 * keeps sending the old cookie, so a longer run would measure a cookie rewrite per request.
 */
export const MAX_SESSION_LOAD_SECONDS = 55;

/**
 * For each server of the session scenarios, the server whose `POST /login` issues the cookie
 * that its load requests carry. The session servers issue their own. The server without
 * sessions ignores the cookie and gets the cookie store's, the longer of the two, so its
 * requests are no smaller than those of the servers it is compared with.
 */
export const SESSION_COOKIE_ISSUERS: Partial<Record<ServerKind, ServerKind>> = {
  "chirp-no-session": "chirp-session-cookie",
  "chirp-session-cookie": "chirp-session-cookie",
  "chirp-session-memory": "chirp-session-memory",
};

/**
 * Servers of the rate limit scenarios. Each app has `GET /`, which AuthRateLimitMiddleware
 * does not count, and `POST /login`, which it counts. The `-login` kinds are loaded with
 * `POST /login`, the others with `GET /`. The app without the middleware is the baseline.
 */
export const RATE_LIMIT_KINDS = [
  "chirp-no-rate-limit",
  "chirp-rate-limit-memory",
  "chirp-rate-limit-redis",
  "chirp-no-rate-limit-login",
  "chirp-rate-limit-memory-login",
  "chirp-rate-limit-redis-login",
] as const satisfies readonly ServerKind[];

export type RateLimitKind = (typeof RATE_LIMIT_KINDS)[number];

export function isRateLimitKind(kind: ServerKind): kind is RateLimitKind {
  return (RATE_LIMIT_KINDS as readonly ServerKind[]).includes(kind);
}

/** Servers whose AuthRateLimitMiddleware counts in Redis. They need a redis-server. */
export const REDIS_KINDS: readonly ServerKind[] = ["chirp-rate-limit-redis", "chirp-rate-limit-redis-login"];

/** Servers loaded with `POST /login` instead of `GET /`. */
export const LOGIN_LOAD_KINDS: readonly ServerKind[] = [
  "chirp-no-rate-limit-login",
  "chirp-rate-limit-memory-login",
  "chirp-rate-limit-redis-login",
];

/** Body of `POST /login` in the rate limit apps. */
export const LOGIN_BODY = "ok";

/**
 * `requests` of AuthRateLimitMiddleware in the measured servers: far more than a load run
 * sends in one window, so every request is counted and none is blocked.
 */
export const UNREACHABLE_LIMIT = 1_000_000_000;

/**
 * Settings of a rate limit server, passed to its child as JSON in the second argument.
 * The harness starts measured servers with `UNREACHABLE_LIMIT` and checkers with a small limit.
 */
export interface RateLimitSettings {
  /** `requests` of AuthRateLimitMiddleware. */
  requests: number;
  /** Port of the redis-server on 127.0.0.1, required by the Redis kinds. */
  redisPort?: number;
  /** `keyPrefix` of redisRateLimitBackend, so servers sharing one redis-server count apart. */
  redisKeyPrefix?: string;
}

export function isServerKind(value: unknown): value is ServerKind {
  return SERVER_KINDS.includes(value as ServerKind);
}

/** Copy of the framework that a chirp child imported: the built `dist/` or `src/` through tsx. */
export type ChirpBuild = "dist" | "src";

/** Resource usage of a child since it started. */
export interface ChildStats {
  /** Current RSS in bytes, from `process.memoryUsage().rss`. */
  rss: number;
  /** Peak RSS in bytes, from `process.resourceUsage().maxRSS`. */
  maxRss: number;
  /** User plus system CPU time in microseconds, from `process.cpuUsage()`. */
  cpuMicros: number;
  /**
   * Keys that the MemoryRateLimitBackend tracks, from its `size`. Only the servers with the
   * memory backend report it.
   */
  rateLimitKeys?: number;
}

/** IPC messages from a child to the parent. */
export type ChildMessage =
  | { type: "listening"; port: number; build: ChirpBuild | null }
  | { type: "stats"; stats: ChildStats }
  | { type: "failed"; message: string };

/** IPC messages from the parent to a child. */
export type ParentMessage = { type: "stats" } | { type: "stop" };

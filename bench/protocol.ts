/** The benchmark servers. Each runs in its own child process started from `child.ts`. */
export const SERVER_KINDS = [
  "bare-hello",
  "chirp-hello",
  "bare-template",
  "chirp-template",
  "chirp-no-session",
  "chirp-session-cookie",
  "chirp-session-memory",
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
}

/** IPC messages from a child to the parent. */
export type ChildMessage =
  | { type: "listening"; port: number; build: ChirpBuild | null }
  | { type: "stats"; stats: ChildStats }
  | { type: "failed"; message: string };

/** IPC messages from the parent to a child. */
export type ParentMessage = { type: "stats" } | { type: "stop" };

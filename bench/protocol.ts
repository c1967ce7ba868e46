/** The benchmark servers. Each runs in its own child process started from `child.ts`. */
export const SERVER_KINDS = ["bare-hello", "chirp-hello", "bare-template", "chirp-template"] as const;

export type ServerKind = (typeof SERVER_KINDS)[number];

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

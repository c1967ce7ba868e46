import type { SessionData } from "./session.js";

/** The record a server-side store keeps for one session. Times are epoch milliseconds. */
export interface SessionRecord {
  data: Readonly<SessionData>;
  createdAt: number;
  lastSeenAt: number;
}

/**
 * A server-side session store. Implement these three methods to keep sessions in your own
 * database. The `key` is derived from the session id with the secret key, so the stored
 * keys alone never let anyone act as a session. Throwing or rejecting makes the request
 * fail with 503.
 */
export interface SessionStore {
  /** Returns the record stored under `key`, or null when there is none or it expired. */
  load(key: string): Promise<SessionRecord | null>;
  /** Stores `record` under `key` for `ttlSeconds`, replacing any earlier record. */
  save(key: string, record: SessionRecord, ttlSeconds: number): Promise<void>;
  /** Deletes the record under `key`; a missing record is not an error. */
  destroy(key: string): Promise<void>;
}

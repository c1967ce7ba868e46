import { ConfigurationError } from "../app/errors.js";
import type { SessionRecord, SessionStore } from "../middleware/session/store.js";
import { checkOptionKeys } from "../app/options.js";

/** Options of {@link MemorySessionStore}. */
export interface MemorySessionStoreOptions {
  /** Maximum sessions kept; the least recently used is evicted beyond it. Default 10,000. */
  maxEntries?: number;
  /** Clock in epoch milliseconds, for tests. Default `Date.now`. */
  clock?: () => number;
}

interface Entry {
  /** The record as JSON, so callers never share mutable objects with the store. */
  json: string;
  expiresAt: number;
}

const SWEEP_INTERVAL_MS = 60_000;

/**
 * Sessions in this process's memory: for one process and for tests. Bounded by
 * `maxEntries` (least recently used evicted first), and expired entries are swept at most
 * once a minute during saves, so a flood of new visitors cannot exhaust memory. Sessions are
 * lost on restart and not shared between processes; use RedisSessionStore for that.
 */
export class MemorySessionStore implements SessionStore {
  readonly #entries = new Map<string, Entry>();
  readonly #maxEntries: number;
  readonly #clock: () => number;
  #lastSweep: number;

  constructor(options: MemorySessionStoreOptions = {}) {
    checkOptionKeys("MemorySessionStore", options, ["maxEntries", "clock"]);
    const maxEntries = options.maxEntries ?? 10_000;
    if (!Number.isSafeInteger(maxEntries) || maxEntries < 1) {
      throw new ConfigurationError(
        `MemorySessionStore maxEntries must be a positive integer, got ${String(maxEntries)}`,
      );
    }
    this.#maxEntries = maxEntries;
    this.#clock = options.clock ?? Date.now;
    this.#lastSweep = this.#clock();
  }

  /** Number of sessions held, expired ones not yet swept included. */
  get size(): number {
    return this.#entries.size;
  }

  load(key: string): Promise<SessionRecord | null> {
    const entry = this.#entries.get(key);
    if (entry === undefined) return Promise.resolve(null);
    if (entry.expiresAt <= this.#clock()) {
      this.#entries.delete(key);
      return Promise.resolve(null);
    }
    // Re-inserting moves the entry to the end of the Map's order, which is the eviction order.
    this.#entries.delete(key);
    this.#entries.set(key, entry);
    return Promise.resolve(JSON.parse(entry.json) as SessionRecord);
  }

  save(key: string, record: SessionRecord, ttlSeconds: number): Promise<void> {
    const now = this.#clock();
    this.#entries.delete(key);
    this.#entries.set(key, { json: JSON.stringify(record), expiresAt: now + ttlSeconds * 1000 });
    if (now - this.#lastSweep >= SWEEP_INTERVAL_MS) this.#sweep(now);
    while (this.#entries.size > this.#maxEntries) {
      const oldest = this.#entries.keys().next().value as string;
      this.#entries.delete(oldest);
    }
    return Promise.resolve();
  }

  destroy(key: string): Promise<void> {
    this.#entries.delete(key);
    return Promise.resolve();
  }

  #sweep(now: number): void {
    this.#lastSweep = now;
    for (const [key, entry] of this.#entries) {
      if (entry.expiresAt <= now) this.#entries.delete(key);
    }
  }
}

import { ConfigurationError } from "../app/errors.js";
import { checkOptionKeys } from "../app/options.js";
import { assertRedisClient, luaScript, runScript, type RedisClient } from "./redis.js";

/** The lockout rule in milliseconds, as the backends apply it. */
export interface LockoutRule {
  maxFailures: number;
  windowMs: number;
  baseLockMs: number;
  backoffMultiplier: number;
  maxLockMs: number;
}

/** The state of one key after an operation. */
export interface LockoutRecord {
  /** Milliseconds the key stays locked; 0 when it is not locked. */
  lockedForMs: number;
  /** True only for the failure that started a lock. */
  lockStarted: boolean;
  /** Locks in a row so far; the next lock lasts baseLock × multiplier^lockCount, capped. */
  lockCount: number;
  /** Failures counted in the current window. */
  failures: number;
}

/** Stores lockout state per key; implemented in memory and on Redis. */
export interface LockoutBackend {
  status(key: string, rule: LockoutRule): Promise<LockoutRecord>;
  recordFailure(key: string, rule: LockoutRule): Promise<LockoutRecord>;
  reset(key: string): Promise<void>;
}

interface Entry {
  failures: number;
  windowEnds: number;
  lockedUntil: number;
  lockCount: number;
  /** After this, the key is forgotten and the backoff starts again. */
  forgetAt: number;
}

/** Options of {@link MemoryLockoutBackend}. */
export interface MemoryLockoutBackendOptions {
  /** Maximum keys tracked; the least recently updated is evicted beyond it. Default 100,000. */
  maxKeys?: number;
  /** Clock in epoch milliseconds, for tests. Default `Date.now`. */
  clock?: () => number;
}

/** Returns the length of the next lock after `lockCount` earlier ones, capped at the maximum. */
export function lockDuration(rule: LockoutRule, lockCount: number): number {
  return Math.floor(Math.min(rule.baseLockMs * rule.backoffMultiplier ** lockCount, rule.maxLockMs));
}

/**
 * Lockout state in this process's memory, bounded by `maxKeys` with the least recently
 * updated key evicted first. A key is forgotten `maxLock` after its window or lock ends, so
 * locks in a row grow until the key has been quiet that long.
 */
export class MemoryLockoutBackend implements LockoutBackend {
  readonly #entries = new Map<string, Entry>();
  readonly #maxKeys: number;
  readonly #clock: () => number;

  constructor(options: MemoryLockoutBackendOptions = {}) {
    checkOptionKeys("MemoryLockoutBackend", options, ["maxKeys", "clock"]);
    const maxKeys = options.maxKeys ?? 100_000;
    if (!Number.isSafeInteger(maxKeys) || maxKeys < 1) {
      throw new ConfigurationError(`MemoryLockoutBackend maxKeys must be a positive integer, got ${String(maxKeys)}`);
    }
    this.#maxKeys = maxKeys;
    this.#clock = options.clock ?? Date.now;
  }

  get size(): number {
    return this.#entries.size;
  }

  status(key: string): Promise<LockoutRecord> {
    const now = this.#clock();
    const entry = this.#current(key, now);
    if (entry === undefined) return Promise.resolve({ lockedForMs: 0, lockStarted: false, lockCount: 0, failures: 0 });
    return Promise.resolve({
      lockedForMs: Math.max(0, entry.lockedUntil - now),
      lockStarted: false,
      lockCount: entry.lockCount,
      failures: entry.windowEnds > now ? entry.failures : 0,
    });
  }

  recordFailure(key: string, rule: LockoutRule): Promise<LockoutRecord> {
    const now = this.#clock();
    const entry = this.#current(key, now) ?? { failures: 0, windowEnds: 0, lockedUntil: 0, lockCount: 0, forgetAt: 0 };
    this.#entries.delete(key);
    this.#entries.set(key, entry);
    while (this.#entries.size > this.#maxKeys) this.#entries.delete(this.#entries.keys().next().value as string);

    if (entry.lockedUntil > now) {
      return Promise.resolve({
        lockedForMs: entry.lockedUntil - now,
        lockStarted: false,
        lockCount: entry.lockCount,
        failures: 0,
      });
    }
    if (entry.windowEnds <= now) {
      entry.failures = 0;
      entry.windowEnds = now + rule.windowMs;
    }
    entry.failures += 1;
    let lockStarted = false;
    if (entry.failures >= rule.maxFailures) {
      entry.lockedUntil = now + lockDuration(rule, entry.lockCount);
      entry.lockCount += 1;
      entry.failures = 0;
      lockStarted = true;
    }
    entry.forgetAt = Math.max(entry.windowEnds, entry.lockedUntil) + rule.maxLockMs;
    return Promise.resolve({
      lockedForMs: Math.max(0, entry.lockedUntil - now),
      lockStarted,
      lockCount: entry.lockCount,
      failures: entry.failures,
    });
  }

  reset(key: string): Promise<void> {
    this.#entries.delete(key);
    return Promise.resolve();
  }

  #current(key: string, now: number): Entry | undefined {
    const entry = this.#entries.get(key);
    if (entry !== undefined && entry.forgetAt <= now) {
      this.#entries.delete(key);
      return undefined;
    }
    return entry;
  }
}

// Both scripts start by reading the time from Redis itself, so every process agrees on it,
// and the key's fields: f failures, w window end, l locked until (epoch ms), c lock count.
const READ_STATE = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local h = redis.call('HMGET', KEYS[1], 'f', 'w', 'l', 'c')
local f = tonumber(h[1]) or 0
local w = tonumber(h[2]) or 0
local l = tonumber(h[3]) or 0
local c = tonumber(h[4]) or 0
`;

const FAILURE_SCRIPT = luaScript(`${READ_STATE}local maxFailures = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
local base = tonumber(ARGV[3])
local multiplier = tonumber(ARGV[4])
local maxLock = tonumber(ARGV[5])
if l > now then return {l - now, 0, c, 0} end
if w <= now then f = 0; w = now + window end
f = f + 1
local started = 0
if f >= maxFailures then
  l = now + math.floor(math.min(base * multiplier ^ c, maxLock))
  c = c + 1
  f = 0
  started = 1
end
redis.call('HSET', KEYS[1], 'f', f, 'w', w, 'l', l, 'c', c)
redis.call('PEXPIRE', KEYS[1], math.max(w, l) + maxLock - now)
local lockedFor = 0
if l > now then lockedFor = l - now end
return {lockedFor, started, c, f}
`);

const STATUS_SCRIPT = luaScript(`${READ_STATE}if w <= now then f = 0 end
local lockedFor = 0
if l > now then lockedFor = l - now end
return {lockedFor, 0, c, f}
`);

/** Options of {@link redisLockoutBackend}. */
export interface RedisLockoutBackendOptions {
  /** Prefix of every key. Default `"chirp:lockout:"`. */
  keyPrefix?: string;
}

function toRecord(reply: unknown): LockoutRecord {
  const [lockedForMs, started, lockCount, failures] = reply as [number, number, number, number];
  return { lockedForMs, lockStarted: started === 1, lockCount, failures };
}

/**
 * Returns a lockout backend on Redis, shared by every process using the same Redis. Each
 * update is one Lua script, so concurrent failures from several processes are all counted.
 * Keys expire once they may be forgotten. Uses the shared ioredis `client`.
 */
export function redisLockoutBackend(client: RedisClient, options: RedisLockoutBackendOptions = {}): LockoutBackend {
  assertRedisClient("redisLockoutBackend", client);
  checkOptionKeys("redisLockoutBackend", options, ["keyPrefix"]);
  const prefix = options.keyPrefix ?? "chirp:lockout:";
  return {
    async status(key) {
      return toRecord(await runScript(client, STATUS_SCRIPT, [prefix + key], []));
    },
    async recordFailure(key, rule) {
      const reply = await runScript(
        client,
        FAILURE_SCRIPT,
        [prefix + key],
        [rule.maxFailures, rule.windowMs, rule.baseLockMs, rule.backoffMultiplier, rule.maxLockMs],
      );
      return toRecord(reply);
    },
    async reset(key) {
      await client.del(prefix + key);
    },
  };
}

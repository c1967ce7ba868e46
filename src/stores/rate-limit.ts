import { ConfigurationError } from "../app/errors.js";
import { checkOptionKeys } from "../app/options.js";
import { assertRedisClient, luaScript, runScript, type RedisClient } from "./redis.js";

/** The outcome of counting one request. */
export interface RateLimitResult {
  /** False when the request must be rejected. */
  allowed: boolean;
  /** Milliseconds until the key may try again; 0 when allowed. */
  retryAfterMs: number;
  /** True only for the request that started the block. */
  blockStarted: boolean;
}

/** The limits of one rule, in milliseconds and requests. */
export interface RateLimitRule {
  limit: number;
  windowMs: number;
  blockMs: number;
}

/** Counts requests per key; implemented in memory and on Redis. */
export interface RateLimitBackend {
  hit(key: string, rule: RateLimitRule): Promise<RateLimitResult>;
}

interface Counter {
  count: number;
  windowEnds: number;
  blockedUntil: number;
}

/** Options of {@link MemoryRateLimitBackend}. */
export interface MemoryRateLimitBackendOptions {
  /** Maximum keys tracked; the least recently counted is evicted beyond it. Default 100,000. */
  maxKeys?: number;
  /** Clock in epoch milliseconds, for tests. Default `Date.now`. */
  clock?: () => number;
}

const SWEEP_INTERVAL_MS = 60_000;

/**
 * Fixed-window counters in this process's memory. Bounded by `maxKeys`, least recently
 * counted evicted first, and expired counters are swept at most once a minute, so a flood
 * of distinct addresses cannot exhaust memory. Each process counts on its own.
 */
export class MemoryRateLimitBackend implements RateLimitBackend {
  readonly #counters = new Map<string, Counter>();
  readonly #maxKeys: number;
  readonly #clock: () => number;
  #lastSweep: number;

  constructor(options: MemoryRateLimitBackendOptions = {}) {
    checkOptionKeys("MemoryRateLimitBackend", options, ["maxKeys", "clock"]);
    const maxKeys = options.maxKeys ?? 100_000;
    if (!Number.isSafeInteger(maxKeys) || maxKeys < 1) {
      throw new ConfigurationError(`MemoryRateLimitBackend maxKeys must be a positive integer, got ${String(maxKeys)}`);
    }
    this.#maxKeys = maxKeys;
    this.#clock = options.clock ?? Date.now;
    this.#lastSweep = this.#clock();
  }

  /** Number of keys tracked, expired ones not yet swept included. */
  get size(): number {
    return this.#counters.size;
  }

  hit(key: string, rule: RateLimitRule): Promise<RateLimitResult> {
    const now = this.#clock();
    if (now - this.#lastSweep >= SWEEP_INTERVAL_MS) this.#sweep(now);

    let counter = this.#counters.get(key);
    if (counter !== undefined) this.#counters.delete(key);
    if (counter === undefined || (counter.windowEnds <= now && counter.blockedUntil <= now)) {
      counter = { count: 0, windowEnds: now + rule.windowMs, blockedUntil: 0 };
    }
    // Re-inserting keeps the Map in least-recently-counted order, the eviction order.
    this.#counters.set(key, counter);
    while (this.#counters.size > this.#maxKeys) {
      this.#counters.delete(this.#counters.keys().next().value as string);
    }

    if (counter.blockedUntil > now) {
      return Promise.resolve({ allowed: false, retryAfterMs: counter.blockedUntil - now, blockStarted: false });
    }
    counter.count += 1;
    if (counter.count > rule.limit) {
      counter.blockedUntil = now + rule.blockMs;
      counter.count = 0;
      counter.windowEnds = counter.blockedUntil;
      return Promise.resolve({ allowed: false, retryAfterMs: rule.blockMs, blockStarted: true });
    }
    return Promise.resolve({ allowed: true, retryAfterMs: 0, blockStarted: false });
  }

  #sweep(now: number): void {
    this.#lastSweep = now;
    for (const [key, counter] of this.#counters) {
      if (counter.windowEnds <= now && counter.blockedUntil <= now) this.#counters.delete(key);
    }
  }
}

// Runs atomically in Redis, so processes sharing the server share one allowance.
// KEYS[1]: the counter, KEYS[2]: the block marker. ARGV: limit, window ms, block ms.
const HIT_SCRIPT = luaScript(`
local blocked = redis.call('PTTL', KEYS[2])
if blocked > 0 then return {0, blocked, 0} end
local count = redis.call('INCR', KEYS[1])
if count == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
if count > tonumber(ARGV[1]) then
  redis.call('SET', KEYS[2], '1', 'PX', ARGV[3])
  redis.call('DEL', KEYS[1])
  return {0, tonumber(ARGV[3]), 1}
end
return {1, 0, 0}
`);

/** Options of {@link redisRateLimitBackend}. */
export interface RedisRateLimitBackendOptions {
  /** Prefix of every key. Default `"chirp:ratelimit:"`. */
  keyPrefix?: string;
}

/**
 * Returns a rate limit backend on Redis: one Lua script per request updates the counter and
 * the block atomically, so every process sharing the Redis shares one allowance. Keys expire
 * with their window or block. Uses the shared ioredis `client` and opens no connection of
 * its own. Redis errors propagate; the middleware's `failureMode` decides what they mean.
 */
export function redisRateLimitBackend(
  client: RedisClient,
  options: RedisRateLimitBackendOptions = {},
): RateLimitBackend {
  assertRedisClient("redisRateLimitBackend", client);
  checkOptionKeys("redisRateLimitBackend", options, ["keyPrefix"]);
  const prefix = options.keyPrefix ?? "chirp:ratelimit:";
  return {
    async hit(key, rule) {
      const reply = (await runScript(
        client,
        HIT_SCRIPT,
        [`${prefix}${key}`, `${prefix}${key}:blocked`],
        [rule.limit, rule.windowMs, rule.blockMs],
      )) as [number, number, number];
      return { allowed: reply[0] === 1, retryAfterMs: reply[1], blockStarted: reply[2] === 1 };
    },
  };
}

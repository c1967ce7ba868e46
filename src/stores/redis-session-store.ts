import { checkOptionKeys } from "../app/options.js";
import type { SessionRecord, SessionStore } from "../middleware/session/store.js";
import { assertRedisClient, type RedisClient } from "./redis.js";

/** Options of {@link RedisSessionStore}. */
export interface RedisSessionStoreOptions {
  /** A shared ioredis client. */
  client: RedisClient;
  /** Prefix of every key. Default `"chirp:session:"`. */
  keyPrefix?: string;
}

function isRecord(value: unknown): value is SessionRecord {
  if (typeof value !== "object" || value === null) return false;
  const record = value as { createdAt?: unknown; lastSeenAt?: unknown; data?: unknown };
  return (
    typeof record.createdAt === "number" &&
    typeof record.lastSeenAt === "number" &&
    typeof record.data === "object" &&
    record.data !== null &&
    !Array.isArray(record.data)
  );
}

/**
 * Sessions in Redis, shared by every process that uses the same Redis and prefix. Each record
 * is one JSON string with a TTL equal to the session's max age. Redis errors propagate, and
 * the session middleware responds to them with 503.
 */
export class RedisSessionStore implements SessionStore {
  readonly #client: RedisClient;
  readonly #prefix: string;

  constructor(options: RedisSessionStoreOptions) {
    checkOptionKeys("RedisSessionStore", options, ["client", "keyPrefix"]);
    assertRedisClient("RedisSessionStore", options.client);
    this.#client = options.client;
    this.#prefix = options.keyPrefix ?? "chirp:session:";
  }

  async load(key: string): Promise<SessionRecord | null> {
    const json = await this.#client.get(this.#prefix + key);
    if (json === null) return null;
    let parsed: unknown;
    try {
      parsed = JSON.parse(json);
    } catch {
      // A value someone else wrote under our prefix is treated as no session.
      return null;
    }
    if (!isRecord(parsed)) return null;
    parsed.data = Object.assign(Object.create(null) as SessionRecord["data"], parsed.data);
    return parsed;
  }

  async save(key: string, record: SessionRecord, ttlSeconds: number): Promise<void> {
    await this.#client.set(this.#prefix + key, JSON.stringify(record), "EX", Math.max(1, Math.ceil(ttlSeconds)));
  }

  async destroy(key: string): Promise<void> {
    await this.#client.del(this.#prefix + key);
  }
}

import { createHash } from "node:crypto";
import { ConfigurationError } from "../app/errors.js";

/**
 * The subset of an ioredis client the Redis stores use. Pass one shared `new Redis(...)`
 * client; the stores never open connections of their own.
 */
export interface RedisClient {
  get(key: string): Promise<string | null>;
  set(key: string, value: string, mode: "EX", seconds: number): Promise<unknown>;
  del(...keys: string[]): Promise<number>;
  eval(script: string, numberOfKeys: number, ...args: (string | number)[]): Promise<unknown>;
  evalsha(sha1: string, numberOfKeys: number, ...args: (string | number)[]): Promise<unknown>;
}

/** A Lua script and its SHA-1, so calls send the 40-character hash instead of the source. */
export interface LuaScript {
  readonly source: string;
  readonly sha1: string;
}

export function luaScript(source: string): LuaScript {
  return { source, sha1: createHash("sha1").update(source).digest("hex") };
}

/**
 * Runs a script by its hash with EVALSHA, and with EVAL when Redis does not have it cached
 * yet (after a restart or SCRIPT FLUSH), which also caches it for the next call.
 */
export async function runScript(
  client: RedisClient,
  script: LuaScript,
  keys: readonly string[],
  args: readonly (string | number)[],
): Promise<unknown> {
  try {
    return await client.evalsha(script.sha1, keys.length, ...keys, ...args);
  } catch (error) {
    if (!(error instanceof Error) || !error.message.startsWith("NOSCRIPT")) throw error;
    return client.eval(script.source, keys.length, ...keys, ...args);
  }
}

/** Throws a ConfigurationError unless `client` looks like an ioredis client. */
export function assertRedisClient(owner: string, client: unknown): asserts client is RedisClient {
  const candidate = client as Partial<Record<keyof RedisClient, unknown>> | null | undefined;
  const methods: (keyof RedisClient)[] = ["get", "set", "del", "eval", "evalsha"];
  if (
    candidate === null ||
    typeof candidate !== "object" ||
    methods.some((name) => typeof candidate[name] !== "function")
  ) {
    throw new ConfigurationError(
      `${owner} needs an ioredis client: pass { client: new Redis(url) } (npm install ioredis)`,
    );
  }
}

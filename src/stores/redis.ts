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
}

/** Throws a ConfigurationError unless `client` looks like an ioredis client. */
export function assertRedisClient(owner: string, client: unknown): asserts client is RedisClient {
  const candidate = client as Partial<Record<keyof RedisClient, unknown>> | null | undefined;
  const methods: (keyof RedisClient)[] = ["get", "set", "del", "eval"];
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

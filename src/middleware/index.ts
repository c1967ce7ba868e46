export type { Middleware, MiddlewareFunction, MiddlewareObject, Next } from "../app/types.js";
export { Session, SessionMiddleware, SessionTooLargeError } from "./session/index.js";
export type { JsonValue, SessionData, SessionOptions, SessionRecord, SessionStore } from "./session/index.js";
export { MemorySessionStore } from "../stores/memory-session-store.js";
export type { MemorySessionStoreOptions } from "../stores/memory-session-store.js";
export { RedisSessionStore } from "../stores/redis-session-store.js";
export type { RedisSessionStoreOptions } from "../stores/redis-session-store.js";
export type { RedisClient } from "../stores/redis.js";

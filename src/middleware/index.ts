export type { Middleware, MiddlewareFunction, MiddlewareObject, Next } from "../app/types.js";
export { AuthMiddleware } from "./auth/index.js";
export type { AuthOptions } from "./auth/index.js";
export { CSRFMiddleware } from "./csrf/index.js";
export type { CSRFOptions } from "./csrf/index.js";
export { AllowedHostsMiddleware } from "./allowed-hosts/index.js";
export type { AllowedHostsOptions } from "./allowed-hosts/index.js";
export { DEFAULT_CSP, SecurityHeadersMiddleware } from "./security-headers/index.js";
export type { SecurityHeadersOptions } from "./security-headers/index.js";
export { AuthRateLimitMiddleware } from "./rate-limit/index.js";
export type { AuthRateLimitOptions } from "./rate-limit/index.js";
export { MemoryRateLimitBackend, redisRateLimitBackend } from "../stores/rate-limit.js";
export type {
  MemoryRateLimitBackendOptions,
  RateLimitBackend,
  RateLimitResult,
  RateLimitRule,
  RedisRateLimitBackendOptions,
} from "../stores/rate-limit.js";
export { Session, SessionMiddleware, SessionTooLargeError } from "./session/index.js";
export type { JsonValue, SessionData, SessionOptions, SessionRecord, SessionStore } from "./session/index.js";
export { MemorySessionStore } from "../stores/memory-session-store.js";
export type { MemorySessionStoreOptions } from "../stores/memory-session-store.js";
export { RedisSessionStore } from "../stores/redis-session-store.js";
export type { RedisSessionStoreOptions } from "../stores/redis-session-store.js";
export type { RedisClient } from "../stores/redis.js";

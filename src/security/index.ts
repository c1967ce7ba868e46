export { emitSecurityEvent, setSecurityEventSink } from "./audit.js";
export type { SecurityEvent, SecurityEventInit, SecurityEventSink } from "./audit.js";
export { SECURITY_EVENTS, SECURITY_EVENT_NAMES } from "./events.js";
export { combineSinks, jsonLinesSink, pinoSink } from "./sinks.js";
export type { PinoLike } from "./sinks.js";
export { SecurityEventMonitor } from "./monitor.js";
export type { SecurityAlert, SecurityEventMonitorOptions } from "./monitor.js";
export { SecurityEventCounters } from "./metrics.js";
export { loginRequired, requires } from "./guards.js";
export type { Policy, RequiresOptions } from "./guards.js";
export { login, logout } from "./login.js";
export { LoginLockout } from "./lockout.js";
export type { LockoutStatus, LoginLockoutOptions } from "./lockout.js";
export { MemoryLockoutBackend, redisLockoutBackend } from "../stores/lockout.js";
export type {
  LockoutBackend,
  LockoutRecord,
  LockoutRule,
  MemoryLockoutBackendOptions,
  RedisLockoutBackendOptions,
} from "../stores/lockout.js";
export { normalizeIdentifier } from "./identifiers.js";
export {
  ARGON2_PARAMETERS,
  InvalidPasswordError,
  MAX_PASSWORD_LENGTH,
  PasswordAlgorithmUnavailableError,
  SCRYPT_PARAMETERS,
  hashPassword,
  needsRehash,
  preferredAlgorithm,
  verifyPassword,
} from "./passwords.js";
export { passwordLogin } from "./password-login.js";
export type { PasswordAccount, PasswordLoginOptions, PasswordLoginResult } from "./password-login.js";
export { PasswordResetTokens } from "./reset-tokens.js";
export type { PasswordResetTokensOptions } from "./reset-tokens.js";
export { addressKey, clientKey } from "./client-key.js";
export { isSafeUrl, safeRedirect } from "./urls.js";
export { ANONYMOUS_USER } from "./users.js";
export type { AnonymousUser, AuthUser } from "./users.js";
export type { SecurityEventName } from "./events.js";

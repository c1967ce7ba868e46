/**
 * The security events the framework emits: when each fires and what its details contain.
 * No event carries a password, token, session id or cookie value.
 */
export const SECURITY_EVENTS = {
  "auth.login.success": { when: "login() succeeded, directly or through passwordLogin", details: "none" },
  "auth.login.failure": {
    when: "passwordLogin refused a login",
    details: "identifier (normalised), reason: unknown_identifier | wrong_password | locked",
  },
  "auth.logout.success": { when: "logout() ended a logged-in session", details: "none" },
  "auth.token.invalid": { when: "a bearer token did not verify", details: "scheme" },
  "auth.session.version_mismatch": {
    when: "a session's stored version differs from the user's current one, so it is logged out",
    details: "none (userId is set)",
  },
  "auth.require.unauthenticated": { when: "a guard met a request from nobody logged in", details: "none" },
  "auth.rate_limit.blocked": {
    when: "a client went over the rate limit and its block started",
    details: "key, retryAfter, route",
  },
  "auth.rate_limit.unavailable": {
    when: "the rate limit backend failed and failureMode open let the request through",
    details: "failureMode",
  },
  "auth.lockout.locked": { when: "a failed login started a lock", details: "identifier, lockSeconds, lockCount" },
  "authz.permission.denied": { when: "requires() found a permission missing", details: "required, missing" },
  "authz.policy.denied": { when: "a requires() policy returned false", details: "policy (the function's name)" },
  "csrf.reject.missing": { when: "an unsafe request carried no CSRF token", details: "reason" },
  "csrf.reject.invalid": { when: "a CSRF token did not match the session's secret", details: "reason" },
  "csrf.reject.origin": { when: "Sec-Fetch-Site or Origin named another site", details: "reason" },
  "session.invalid": {
    when: "a session cookie was tampered, undecryptable or unknown",
    details: "store: cookie | server",
  },
  "session.expired": {
    when: "a session passed its idle, absolute or max age limit",
    details: "reason: idle | absolute | max_age",
  },
  "password.reset.requested": {
    when: "PasswordResetTokens.createToken was called with a request",
    details: "none (userId is set)",
  },
  "password.reset.completed": {
    when: "PasswordResetTokens.recordCompleted was called",
    details: "none (userId is set)",
  },
  "password.reset.invalid": {
    when: "a reset token failed to verify",
    details: "reason: malformed | expired | unknown_user | signature",
  },
  "host.reject": { when: "AllowedHostsMiddleware refused a Host header", details: "host (at most 255 characters)" },
} as const satisfies Record<string, { when: string; details: string }>;

/** The name of a security event. */
export type SecurityEventName = keyof typeof SECURITY_EVENTS;

/** Every event name, in catalogue order. */
export const SECURITY_EVENT_NAMES = Object.keys(SECURITY_EVENTS) as SecurityEventName[];

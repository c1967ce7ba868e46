/** Names of the security events the framework emits. */
export const SECURITY_EVENT_NAMES = [
  "auth.login.success",
  "auth.login.failure",
  "auth.logout.success",
  "auth.token.invalid",
  "auth.session.version_mismatch",
  "auth.require.unauthenticated",
  "auth.rate_limit.blocked",
  "auth.rate_limit.unavailable",
  "auth.lockout.locked",
  "authz.permission.denied",
  "authz.policy.denied",
  "csrf.reject.missing",
  "csrf.reject.invalid",
  "csrf.reject.origin",
  "session.invalid",
  "session.expired",
  "password.reset.requested",
  "password.reset.completed",
  "password.reset.invalid",
  "host.reject",
] as const;

export type SecurityEventName = (typeof SECURITY_EVENT_NAMES)[number];

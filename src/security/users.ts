/**
 * A user as the framework reads it: the application's own object with a string `id` and,
 * for `requires`, its permissions as an array or a Set.
 */
export interface AuthUser {
  readonly id: string;
  readonly permissions?: readonly string[] | ReadonlySet<string>;
}

/** The user of an anonymous request: no id, no permissions. */
export interface AnonymousUser extends AuthUser {
  readonly id: "";
  readonly permissions: readonly string[];
  readonly isAnonymous: true;
}

/** The single anonymous user; `req.user` is this object, never null, when no user is logged in. */
export const ANONYMOUS_USER: AnonymousUser = Object.freeze({
  id: "",
  permissions: Object.freeze([]),
  isAnonymous: true,
});

/** True when `user` has every one of `permissions`. */
export function hasPermissions(user: AuthUser, permissions: readonly string[]): boolean {
  const granted = user.permissions;
  if (granted === undefined) return permissions.length === 0;
  const has =
    granted instanceof Set
      ? (permission: string) => granted.has(permission)
      : (permission: string) => (granted as readonly string[]).includes(permission);
  return permissions.every(has);
}

import { ConfigurationError } from "../app/errors.js";
import type { Request } from "../http/request.js";
import { authMiddlewareFor, SESSION_USER_KEY, SESSION_VERSION_KEY } from "../middleware/auth/middleware.js";
import { emitSecurityEvent } from "./audit.js";
import { ANONYMOUS_USER, type AuthUser } from "./users.js";

/**
 * Logs `user` in for the rest of this session. The session moves to a new id first, so an id
 * planted or copied before login never becomes authenticated (session fixation), and it
 * stores the user id and the user's session version. Emits `auth.login.success`.
 */
export function login(req: Request, user: AuthUser): void {
  const auth = authMiddlewareFor(req, "login()");
  if (typeof user.id !== "string" || user.id === "") {
    throw new ConfigurationError("login() needs a user whose id is a non-empty string");
  }
  const session = req.session;
  session.regenerate();
  session.set(SESSION_USER_KEY, user.id);
  const version = auth.sessionVersionOf(user);
  if (version === undefined) session.delete(SESSION_VERSION_KEY);
  else session.set(SESSION_VERSION_KEY, version);
  req.setUser(user, "session");
  emitSecurityEvent("auth.login.success", { req, userId: user.id });
}

/**
 * Logs the current user out: the session is emptied and moved to a new id, so with a
 * server-side store a copied cookie no longer authenticates. With the cookie store a copy
 * stays valid until it expires; change the user's session version to revoke it.
 * Emits `auth.logout.success` when someone was logged in.
 */
export function logout(req: Request): void {
  authMiddlewareFor(req, "logout()");
  const userId = req.isAuthenticated ? req.user.id : null;
  const session = req.session;
  session.clear();
  session.regenerate();
  req.setUser(ANONYMOUS_USER, null);
  if (userId !== null) emitSecurityEvent("auth.logout.success", { req, userId });
}

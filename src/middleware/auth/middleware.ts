import type { App } from "../../app/app.js";
import { ConfigurationError } from "../../app/errors.js";
import { checkOptionKeys } from "../../app/options.js";
import type { Next } from "../../app/types.js";
import type { Request } from "../../http/request.js";
import type { Response } from "../../http/response.js";
import { emitSecurityEvent } from "../../security/audit.js";
import { ANONYMOUS_USER, type AuthUser } from "../../security/users.js";

/** Options of {@link AuthMiddleware}. */
export interface AuthOptions<User extends AuthUser = AuthUser> {
  /** Loads the user a session refers to; null when the user no longer exists. */
  loadUser?: (id: string) => User | null | Promise<User | null>;
  /** Resolves a bearer token to its user, or null when the token is invalid. */
  verifyToken?: (token: string) => User | null | Promise<User | null>;
  /**
   * Returns a value that changes whenever the user's existing sessions must end, such as a
   * counter bumped on password change or "log out everywhere". Default: none.
   */
  sessionVersion?: (user: User) => string | number;
  /** Login page that guards redirect anonymous browsers to. Default `"/login"`. */
  loginUrl?: string;
  /** Paths, and the paths under them, where no user is loaded, such as `/static`. */
  excludePaths?: readonly string[];
  /**
   * Allows session authentication without CSRFMiddleware in production. Without CSRF
   * protection any site can submit forms as the logged-in user; leave this off.
   */
  dangerouslyAllowWithoutCSRF?: boolean;
}

/** Session keys of the logged-in user; the leading underscore keeps them apart from app data. */
export const SESSION_USER_KEY = "_auth_user_id";
export const SESSION_VERSION_KEY = "_auth_session_version";

const BEARER = /^bearer[ \t]+([^ \t].*)$/i;

const middlewareOf = new WeakMap<Request, AuthMiddleware>();

/** Returns the AuthMiddleware that handled `req`, or throws a ConfigurationError naming the fix. */
export function authMiddlewareFor(req: Request, caller: string): AuthMiddleware {
  const middleware = middlewareOf.get(req);
  if (middleware === undefined) {
    throw new ConfigurationError(
      `${caller} needs AuthMiddleware: add it with app.addMiddleware(new AuthMiddleware({ loadUser }))`,
    );
  }
  return middleware;
}

/**
 * Loads the user of each request into `req.user`: from a bearer token when the request has
 * one and `verifyToken` is set, else from the session. No login, an invalid token,
 * a deleted user or a changed session version all give the anonymous user.
 */
export class AuthMiddleware<User extends AuthUser = AuthUser> {
  readonly middlewareName = "AuthMiddleware";
  readonly requires: readonly string[];
  readonly loginUrl: string;
  readonly templateGlobals = {
    current_user: (req: Request): AuthUser => req.user,
  };
  readonly #options: AuthOptions<User>;
  readonly #excludePaths: readonly string[];

  constructor(options: AuthOptions<User> = {}) {
    checkOptionKeys("AuthMiddleware", options, [
      "loadUser",
      "verifyToken",
      "sessionVersion",
      "loginUrl",
      "excludePaths",
      "dangerouslyAllowWithoutCSRF",
    ]);
    if (options.loadUser === undefined && options.verifyToken === undefined) {
      throw new ConfigurationError(
        "AuthMiddleware needs loadUser (for sessions), verifyToken (for bearer tokens) or both",
      );
    }
    for (const name of ["loadUser", "verifyToken", "sessionVersion"] as const) {
      if (options[name] !== undefined && typeof options[name] !== "function") {
        throw new ConfigurationError(`AuthMiddleware ${name} must be a function`);
      }
    }
    if (options.sessionVersion !== undefined && options.loadUser === undefined) {
      throw new ConfigurationError("AuthMiddleware sessionVersion applies to sessions: set loadUser too");
    }
    this.loginUrl = options.loginUrl ?? "/login";
    if (!this.loginUrl.startsWith("/") || this.loginUrl.startsWith("//")) {
      throw new ConfigurationError(
        `AuthMiddleware loginUrl must be a path on this site such as "/login", got ${JSON.stringify(this.loginUrl)}`,
      );
    }
    this.#excludePaths = (options.excludePaths ?? []).map((path) => {
      if (!path.startsWith("/"))
        throw new ConfigurationError(
          `AuthMiddleware excludePaths entries must start with "/", got ${JSON.stringify(path)}`,
        );
      return path.length > 1 && path.endsWith("/") ? path.slice(0, -1) : path;
    });
    this.requires = options.loadUser === undefined ? [] : ["SessionMiddleware"];
    this.#options = options;
  }

  /** Stops a production start-up that uses session logins without CSRF protection. */
  setup(app: App): void {
    const usesSessions = this.#options.loadUser !== undefined;
    const hasCsrf = app.middleware.some(
      (middleware) => typeof middleware !== "function" && middleware.middlewareName === "CSRFMiddleware",
    );
    if (app.env === "production" && usesSessions && !hasCsrf && this.#options.dangerouslyAllowWithoutCSRF !== true) {
      throw new ConfigurationError(
        "AuthMiddleware logs users in through sessions, but CSRFMiddleware is missing, so other sites could submit forms as them. " +
          "Add app.addMiddleware(new CSRFMiddleware()) after AuthMiddleware.",
      );
    }
  }

  async handle(req: Request, next: Next): Promise<Response> {
    middlewareOf.set(req, this as unknown as AuthMiddleware);
    req.setUser(ANONYMOUS_USER, null);
    if (!this.#isExcluded(req.path)) await this.#authenticate(req);
    return next();
  }

  /** Returns the session version of `user`, or undefined when versions are not used. */
  sessionVersionOf(user: AuthUser): string | undefined {
    const version = this.#options.sessionVersion?.(user as User);
    return version === undefined ? undefined : String(version);
  }

  #isExcluded(path: string): boolean {
    return this.#excludePaths.some(
      (excluded) => excluded === "/" || path === excluded || path.startsWith(`${excluded}/`),
    );
  }

  async #authenticate(req: Request): Promise<void> {
    const authorization = req.headers.authorization;
    const bearer = typeof authorization === "string" ? BEARER.exec(authorization.trim())?.[1] : undefined;
    if (bearer !== undefined && this.#options.verifyToken !== undefined) {
      const user = await this.#options.verifyToken(bearer.trim());
      if (user === null) {
        emitSecurityEvent("auth.token.invalid", { req, details: { scheme: "bearer" } });
        return;
      }
      req.setUser(user, "token");
      return;
    }

    const loadUser = this.#options.loadUser;
    if (loadUser === undefined) return;
    const session = req.session;
    const id = session.get(SESSION_USER_KEY);
    if (typeof id !== "string" || id === "") return;
    const user = await loadUser(id);
    if (user === null) {
      // The user was deleted: forget the login so every later request skips the lookup.
      session.delete(SESSION_USER_KEY);
      session.delete(SESSION_VERSION_KEY);
      return;
    }
    const expected = this.sessionVersionOf(user);
    if (expected !== undefined && session.get(SESSION_VERSION_KEY) !== expected) {
      emitSecurityEvent("auth.session.version_mismatch", { req, userId: user.id });
      session.delete(SESSION_USER_KEY);
      session.delete(SESSION_VERSION_KEY);
      return;
    }
    req.setUser(user, "session");
  }
}

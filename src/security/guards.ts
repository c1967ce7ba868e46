import { errorPage, prefersJson } from "../app/error-pages.js";
import { GUARD_CHECK, type GuardCheck, type GuardedHandler, type Handler } from "../app/types.js";
import type { Request } from "../http/request.js";
import { HTML_HEADERS, JSON_HEADERS, Response } from "../http/response.js";
import { authMiddlewareFor } from "../middleware/auth/middleware.js";
import { emitSecurityEvent } from "./audit.js";
import { normaliseSafeUrl } from "./urls.js";
import { hasPermissions, type AuthUser } from "./users.js";

/** Decides whether a logged-in user may use a route; may be async. */
export type Policy<User extends AuthUser = AuthUser> = (user: User, req: Request) => boolean | Promise<boolean>;

/** Options of {@link requires}. */
export interface RequiresOptions<User extends AuthUser = AuthUser> {
  /** Checked after the permissions; false gives 403. */
  policy?: Policy<User>;
}

function isApiClient(req: Request): boolean {
  return req.headers.authorization !== undefined || prefersJson(req.headers);
}

/** Returns the page to come back to after login: for htmx, the page the user is on, not the fragment URL. */
function returnPath(req: Request): string {
  const current = req.headers["hx-current-url"];
  if (req.isHtmx && typeof current === "string") {
    try {
      const parsed = new URL(current);
      const host = req.headers.host;
      if (host !== undefined && parsed.host === host) {
        const path = normaliseSafeUrl(parsed.pathname + parsed.search);
        if (path !== null) return path;
      }
    } catch {
      // An unparsable HX-Current-URL falls back to the request's own path.
    }
  }
  return normaliseSafeUrl(req.url) ?? "/";
}

function unauthenticated(req: Request): Response {
  emitSecurityEvent("auth.require.unauthenticated", { req });
  if (isApiClient(req)) {
    // A client that sent Authorization gets JSON even when its Accept header says nothing.
    const body = JSON.stringify({ error: "Unauthorized", status: 401, detail: "Authentication required" });
    return Response.trusted(401, { ...JSON_HEADERS, "www-authenticate": "Bearer" }, body);
  }
  const loginUrl = authMiddlewareFor(req, "loginRequired").loginUrl;
  const separator = loginUrl.includes("?") ? "&" : "?";
  const target = `${loginUrl}${separator}next=${encodeURIComponent(returnPath(req))}`;
  if (req.isHtmx) {
    // htmx follows HX-Redirect with a full page load instead of swapping the login page into a fragment.
    return Response.trusted(401, { ...HTML_HEADERS, "hx-redirect": target }, "");
  }
  return Response.trusted(302, { location: target }, null);
}

function forbidden(req: Request): Response {
  return errorPage(req, 403, "You do not have access to this page.");
}

function guard(check: GuardCheck, handler: Handler): GuardedHandler {
  const inner = (handler as GuardedHandler)[GUARD_CHECK];
  const combined: GuardCheck =
    inner === undefined
      ? check
      : async function checkBoth(req) {
          return (await check(req)) ?? (await inner(req));
        };
  const guarded: GuardedHandler = async function guardedHandler(req: Request) {
    const denied = await combined(req);
    return denied ?? handler(req);
  };
  guarded[GUARD_CHECK] = combined;
  return guarded;
}

/**
 * Wraps a handler so only logged-in users reach it. Browsers are redirected to the login
 * page with `next`, htmx requests get `HX-Redirect`, and API clients get 401 JSON.
 */
export function loginRequired(handler: Handler): Handler {
  return guard(async function checkLoggedIn(req) {
    authMiddlewareFor(req, "loginRequired");
    return Promise.resolve(req.isAuthenticated ? null : unauthenticated(req));
  }, handler);
}

/**
 * Wraps a handler so that it runs only for logged-in users who have every listed permission
 * and pass the optional policy. A failure gives 403 with a body that names neither
 * the permission nor the policy; the `authz.permission.denied` or `authz.policy.denied`
 * event carries the details.
 */
export function requires<User extends AuthUser = AuthUser>(
  ...args: [...permissions: string[], options: RequiresOptions<User>] | string[]
): (handler: Handler) => Handler {
  const last = args.at(-1);
  const options: RequiresOptions<User> = typeof last === "object" ? last : {};
  const permissions = (args as unknown[]).filter((arg): arg is string => typeof arg === "string");
  const policy = options.policy;

  return (handler) =>
    guard(async function checkPermissions(req) {
      authMiddlewareFor(req, "requires");
      if (!req.isAuthenticated) return unauthenticated(req);
      const user = req.user;
      if (!hasPermissions(user, permissions)) {
        const missing = permissions.filter((permission) => !hasPermissions(user, [permission]));
        emitSecurityEvent("authz.permission.denied", {
          req,
          userId: user.id,
          details: { required: permissions, missing },
        });
        return forbidden(req);
      }
      if (policy !== undefined && !(await policy(user as User, req))) {
        emitSecurityEvent("authz.policy.denied", {
          req,
          userId: user.id,
          details: { policy: policy.name || "anonymous policy" },
        });
        return forbidden(req);
      }
      return null;
    }, handler);
}

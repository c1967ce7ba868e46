import type { App } from "../../app/app.js";
import { errorPage } from "../../app/error-pages.js";
import { ConfigurationError } from "../../app/errors.js";
import { checkOptionKeys } from "../../app/options.js";
import type { Next } from "../../app/types.js";
import { mediaType } from "../../http/body.js";
import type { Request } from "../../http/request.js";
import type { Response } from "../../http/response.js";
import { markSafe } from "../../templating/engine.js";
import { emitSecurityEvent } from "../../security/audit.js";
import { parseHost } from "../allowed-hosts/middleware.js";
import { createSecret, maskSecret, tokenMatches } from "./tokens.js";

/** Options of {@link CSRFMiddleware}. */
export interface CSRFOptions {
  /** Form field that carries the token. Default `"_csrf_token"`. */
  fieldName?: string;
  /** Header that carries the token, checked before the form field. Default `"x-csrf-token"`. */
  headerName?: string;
  /** Paths, and the paths below them, that are not checked, such as a webhook receiver. */
  exemptPaths?: readonly string[];
  /** Other origins allowed to post, such as `"https://admin.example.com"`. */
  trustedOrigins?: readonly string[];
}

/** Session key of the CSRF secret. */
export const CSRF_SECRET_KEY = "_csrf_secret";

const SAFE_METHODS = new Set(["GET", "HEAD", "OPTIONS", "TRACE"]);
const FORM_TYPES = new Set(["application/x-www-form-urlencoded", "multipart/form-data"]);

type Rejection = "csrf.reject.origin" | "csrf.reject.missing" | "csrf.reject.invalid";

interface CSRFState {
  /** True once this request replaced the secret after the session was regenerated. */
  rotated: boolean;
}

/** Returns an Origin header value in the form URL serialises it (lower-case host, no default port), or null. */
function normaliseRequestOrigin(origin: string): string | null {
  try {
    const parsed = new URL(origin);
    return parsed.protocol === "http:" || parsed.protocol === "https:" ? parsed.origin : null;
  } catch {
    return null;
  }
}

function normaliseOrigin(origin: string, option: string): string {
  let parsed: URL;
  try {
    parsed = new URL(origin);
  } catch {
    throw new ConfigurationError(
      `CSRFMiddleware ${option} entry ${JSON.stringify(origin)} is not a URL: use "https://host[:port]"`,
    );
  }
  if ((parsed.protocol !== "https:" && parsed.protocol !== "http:") || parsed.origin !== origin.replace(/\/$/, "")) {
    throw new ConfigurationError(
      `CSRFMiddleware ${option} entry ${JSON.stringify(origin)} must be an origin such as "https://admin.example.com", without a path`,
    );
  }
  return parsed.origin;
}

/**
 * Rejects cross-site requests that change state. Every method but GET, HEAD, OPTIONS and
 * TRACE is checked, whatever its content type: first the origin (`Sec-Fetch-Site`, then
 * `Origin`), then a token bound to the session, from the `x-csrf-token` header or the
 * `_csrf_token` form field. Requests authenticated only by a bearer token are not checked,
 * since browsers never attach those on their own.
 */
export class CSRFMiddleware {
  readonly middlewareName = "CSRFMiddleware";
  readonly requires = ["SessionMiddleware"] as const;
  readonly templateGlobals = {
    csrf_token: (req: Request): string => req.csrfToken,
    csrf_field: (req: Request): unknown =>
      markSafe(`<input type="hidden" name="${this.#fieldName}" value="${req.csrfToken}">`),
  };
  readonly #fieldName: string;
  readonly #headerName: string;
  readonly #exemptPaths: readonly string[];
  readonly #trustedOrigins: ReadonlySet<string>;
  readonly #states = new WeakMap<Request, CSRFState>();

  constructor(options: CSRFOptions = {}) {
    checkOptionKeys("CSRFMiddleware", options, ["fieldName", "headerName", "exemptPaths", "trustedOrigins"]);
    this.#fieldName = options.fieldName ?? "_csrf_token";
    if (!/^[A-Za-z0-9_.-]+$/.test(this.#fieldName)) {
      throw new ConfigurationError(
        `CSRFMiddleware fieldName must be letters, digits, "_", "." or "-", got ${JSON.stringify(this.#fieldName)}`,
      );
    }
    this.#headerName = (options.headerName ?? "x-csrf-token").toLowerCase();
    if (!/^[a-z0-9-]+$/.test(this.#headerName)) {
      throw new ConfigurationError(
        `CSRFMiddleware headerName must be a header name such as "x-csrf-token", got ${JSON.stringify(options.headerName)}`,
      );
    }
    this.#exemptPaths = (options.exemptPaths ?? []).map((path) => {
      if (!path.startsWith("/"))
        throw new ConfigurationError(
          `CSRFMiddleware exemptPaths entries must start with "/", got ${JSON.stringify(path)}`,
        );
      return path.length > 1 && path.endsWith("/") ? path.slice(0, -1) : path;
    });
    this.#trustedOrigins = new Set(
      (options.trustedOrigins ?? []).map((origin) => normaliseOrigin(origin, "trustedOrigins")),
    );
  }

  setup(app: App): void {
    const names = app.middleware.map((middleware) =>
      typeof middleware === "function" ? "" : middleware.middlewareName,
    );
    const auth = names.indexOf("AuthMiddleware");
    if (auth > names.indexOf("CSRFMiddleware")) {
      throw new ConfigurationError(
        "CSRFMiddleware is added before AuthMiddleware, so it cannot tell bearer-token requests apart: add AuthMiddleware first",
      );
    }
  }

  async handle(req: Request, next: Next): Promise<Response> {
    const state: CSRFState = { rotated: false };
    this.#states.set(req, state);
    req.setCsrfTokenProvider(() => maskSecret(this.#secretFor(req, state)));

    if (!SAFE_METHODS.has(req.method) && !this.#isExempt(req)) {
      const rejection = await this.#check(req);
      if (rejection !== null) return this.#reject(req, rejection.name, rejection.reason);
    }

    const response = await next();
    // A regenerated session (login, logout) must not keep the secret tokens were made from.
    if (req.session.isRegenerated && !state.rotated && req.session.has(CSRF_SECRET_KEY)) {
      req.session.set(CSRF_SECRET_KEY, createSecret());
    }
    return response;
  }

  #isExempt(req: Request): boolean {
    if (req.authenticatedBy === "token" && req.session.isNew) return true;
    return this.#exemptPaths.some(
      (exempt) => exempt === "/" || req.path === exempt || req.path.startsWith(`${exempt}/`),
    );
  }

  #secretFor(req: Request, state: CSRFState): string {
    const session = req.session;
    const current = session.get(CSRF_SECRET_KEY);
    if (session.isRegenerated && !state.rotated) {
      state.rotated = true;
      const fresh = createSecret();
      session.set(CSRF_SECRET_KEY, fresh);
      return fresh;
    }
    if (typeof current === "string") return current;
    const created = createSecret();
    session.set(CSRF_SECRET_KEY, created);
    return created;
  }

  async #check(req: Request): Promise<{ name: Rejection; reason: string } | null> {
    const fetchSite = req.headers["sec-fetch-site"];
    const origin = req.headers.origin;
    if (fetchSite === "cross-site") return { name: "csrf.reject.origin", reason: "sec-fetch-site cross-site" };
    if (
      fetchSite === "same-site" &&
      (origin === undefined || !this.#trustedOrigins.has(normaliseRequestOrigin(origin) ?? ""))
    ) {
      return { name: "csrf.reject.origin", reason: "sec-fetch-site same-site" };
    }
    if (origin !== undefined) {
      if (origin === "null") return { name: "csrf.reject.origin", reason: "origin null" };
      const normalised = normaliseRequestOrigin(origin);
      if (normalised === null || (normalised !== this.#ownOrigin(req) && !this.#trustedOrigins.has(normalised))) {
        return { name: "csrf.reject.origin", reason: "origin mismatch" };
      }
    }

    const token = await this.#submittedToken(req);
    if (token === undefined) return { name: "csrf.reject.missing", reason: "no token" };
    const secret = req.session.get(CSRF_SECRET_KEY);
    if (typeof secret !== "string") return { name: "csrf.reject.invalid", reason: "no secret in session" };
    if (!tokenMatches(token, secret)) return { name: "csrf.reject.invalid", reason: "token mismatch" };
    return null;
  }

  #ownOrigin(req: Request): string {
    const host = parseHost(req.headers.host ?? "");
    if (host === null) return "";
    const scheme = req.isSecure ? "https" : "http";
    // URL drops a default port, as browsers do when they send Origin.
    return normaliseRequestOrigin(`${scheme}://${host.name}${host.port === null ? "" : `:${host.port}`}`) ?? "";
  }

  async #submittedToken(req: Request): Promise<string | undefined> {
    const header = req.headers[this.#headerName];
    if (typeof header === "string" && header !== "") return header;
    if (!FORM_TYPES.has(mediaType(req.headers["content-type"]))) return undefined;
    // The form is parsed once; the handler gets the same object from req.form().
    const value = (await req.form()).get(this.#fieldName);
    return value === null || value === "" ? undefined : value;
  }

  #reject(req: Request, name: Rejection, reason: string): Response {
    emitSecurityEvent(name, { req, userId: req.isAuthenticated ? req.user.id : null, details: { reason } });
    return errorPage(req, 403, "The form has expired or was sent from another site. Reload the page and try again.");
  }
}

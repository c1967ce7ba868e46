import { errorPage } from "../../app/error-pages.js";
import { ConfigurationError } from "../../app/errors.js";
import { checkOptionKeys } from "../../app/options.js";
import type { Next } from "../../app/types.js";
import type { Request } from "../../http/request.js";
import type { Response } from "../../http/response.js";
import { emitSecurityEvent } from "../../security/audit.js";
import { clientKey } from "../../security/client-key.js";
import { MemoryRateLimitBackend, type RateLimitBackend, type RateLimitRule } from "../../stores/rate-limit.js";

/** Options of {@link AuthRateLimitMiddleware}. */
export interface AuthRateLimitOptions {
  /** Requests allowed per client and window. Default 10. */
  requests?: number;
  /** Length of the counting window. Default 60. */
  windowSeconds?: number;
  /** How long a client that went over stays blocked. Default 300. */
  blockSeconds?: number;
  /** Methods counted. Default `["POST"]`. */
  methods?: readonly string[];
  /** Route patterns counted. Default `["/login", "/signup", "/register", "/password-reset"]`. */
  paths?: readonly string[];
  /** The key a request is counted under. Default: the client address, IPv6 grouped by /64. */
  key?: (req: Request) => string;
  /** Storage for the counters. Default: a bounded in-memory backend for this process. */
  backend?: RateLimitBackend;
  /**
   * Behaviour when the backend fails: `"open"` (default) lets the request through and emits
   * `auth.rate_limit.unavailable`; `"closed"` responds with 503.
   */
  failureMode?: "open" | "closed";
}

const OPTION_KEYS = ["requests", "windowSeconds", "blockSeconds", "methods", "paths", "key", "backend", "failureMode"];
const LOG_INTERVAL_MS = 60_000;

function positiveInteger(name: string, value: number | undefined, fallback: number): number {
  const resolved = value ?? fallback;
  if (!Number.isSafeInteger(resolved) || resolved <= 0) {
    throw new ConfigurationError(`AuthRateLimitMiddleware ${name} must be a positive integer, got ${String(value)}`);
  }
  return resolved;
}

/** Lower-cases a path and drops a trailing slash, to match spellings the router also accepts. */
function pathKey(path: string): string {
  const lower = path.toLowerCase();
  return lower.length > 1 && lower.endsWith("/") ? lower.slice(0, -1) : lower;
}

/**
 * Limits attempts on authentication endpoints per client: over `requests` in
 * `windowSeconds`, the client gets 429 with `Retry-After` for `blockSeconds`, and
 * `auth.rate_limit.blocked` is emitted when the block starts. A request counts when its
 * method is listed and the route that will handle it is one of `paths`, however the path was
 * spelled. Add it before CSRFMiddleware, so rejected attempts count too.
 */
export class AuthRateLimitMiddleware {
  readonly middlewareName = "AuthRateLimitMiddleware";
  readonly #rule: RateLimitRule;
  readonly #methods: ReadonlySet<string>;
  readonly #paths: ReadonlySet<string>;
  readonly #key: (req: Request) => string;
  readonly #backend: RateLimitBackend;
  readonly #failureMode: "open" | "closed";
  #lastErrorLog = -Infinity;
  #suppressedErrors = 0;

  constructor(options: AuthRateLimitOptions = {}) {
    checkOptionKeys("AuthRateLimitMiddleware", options, OPTION_KEYS);
    this.#rule = {
      limit: positiveInteger("requests", options.requests, 10),
      windowMs: positiveInteger("windowSeconds", options.windowSeconds, 60) * 1000,
      blockMs: positiveInteger("blockSeconds", options.blockSeconds, 300) * 1000,
    };
    this.#methods = new Set((options.methods ?? ["POST"]).map((method) => method.toUpperCase()));
    const paths = options.paths ?? ["/login", "/signup", "/register", "/password-reset"];
    for (const path of paths) {
      if (!path.startsWith("/"))
        throw new ConfigurationError(`AuthRateLimitMiddleware paths must start with "/", got ${JSON.stringify(path)}`);
    }
    this.#paths = new Set(paths.map(pathKey));
    if (options.key !== undefined && typeof options.key !== "function") {
      throw new ConfigurationError("AuthRateLimitMiddleware key must be a function (req) => string");
    }
    this.#key = options.key ?? clientKey;
    this.#backend = options.backend ?? new MemoryRateLimitBackend();
    // Checked at run time too, for JavaScript callers without the types.
    const failureMode = (options.failureMode ?? "open") as string;
    if (failureMode !== "open" && failureMode !== "closed") {
      throw new ConfigurationError(
        `AuthRateLimitMiddleware failureMode must be "open" or "closed", got ${JSON.stringify(failureMode)}`,
      );
    }
    this.#failureMode = failureMode;
  }

  async handle(req: Request, next: Next): Promise<Response> {
    if (!this.#counts(req)) return next();
    const key = this.#key(req);
    let result;
    try {
      result = await this.#backend.hit(key, this.#rule);
    } catch (error) {
      this.#logBackendError(req, error);
      if (this.#failureMode === "closed") return unavailable(req);
      emitSecurityEvent("auth.rate_limit.unavailable", { req, details: { failureMode: "open" } });
      return next();
    }
    if (result.allowed) return next();

    const retryAfter = Math.max(1, Math.ceil(result.retryAfterMs / 1000));
    if (result.blockStarted) {
      emitSecurityEvent("auth.rate_limit.blocked", { req, details: { key, retryAfter, route: req.route } });
    }
    return tooManyRequests(req, retryAfter);
  }

  #counts(req: Request): boolean {
    if (!this.#methods.has(req.method)) return false;
    if (req.route !== null && this.#paths.has(pathKey(req.route))) return true;
    // Spellings the router does not match, such as /LOGIN, count too, so no variant escapes.
    return this.#paths.has(pathKey(req.path));
  }

  #logBackendError(req: Request, error: unknown): void {
    const now = Date.now();
    if (now - this.#lastErrorLog < LOG_INTERVAL_MS) {
      this.#suppressedErrors += 1;
      return;
    }
    req.logger.error(
      { err: error, failureMode: this.#failureMode, suppressed: this.#suppressedErrors },
      "Rate limit backend failed",
    );
    this.#lastErrorLog = now;
    this.#suppressedErrors = 0;
  }
}

function tooManyRequests(req: Request, retryAfter: number): Response {
  const detail = `Too many attempts. Try again in ${String(retryAfter)} seconds.`;
  return errorPage(req, 429, detail, { "retry-after": String(retryAfter) });
}

function unavailable(req: Request): Response {
  return errorPage(req, 503, "Try again shortly.", { "retry-after": "30" });
}

import { randomBytesFromPool } from "../../security/random.js";
import { ConfigurationError } from "../../app/errors.js";
import { checkOptionKeys } from "../../app/options.js";
import type { Next } from "../../app/types.js";
import { assertHeaderValue } from "../../http/headers.js";
import type { Request } from "../../http/request.js";
import { Response } from "../../http/response.js";
import { cspWithNonceParts, DEFAULT_CSP, parseCsp, serialiseCsp } from "./csp.js";

/** Options of {@link SecurityHeadersMiddleware}; `false` switches a header off. */
export interface SecurityHeadersOptions {
  /** Default: `default-src 'self'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'; object-src 'none'`. */
  contentSecurityPolicy?: string | false;
  /** Sent on secure requests only. Default `"max-age=31536000"`. */
  strictTransportSecurity?: string | false;
  /** Default `"DENY"`. */
  xFrameOptions?: "DENY" | "SAMEORIGIN" | false;
  /** Default `"nosniff"`. */
  xContentTypeOptions?: "nosniff" | false;
  /** Default `"strict-origin-when-cross-origin"`. */
  referrerPolicy?: string | false;
  /** Default `"same-origin"`. */
  crossOriginOpenerPolicy?: "same-origin" | "same-origin-allow-popups" | "unsafe-none" | false;
  /**
   * Adds a fresh nonce to `script-src` and `style-src` for every response, available as
   * `req.cspNonce` and `{{ csp_nonce() }}`. Default false.
   */
  cspNonce?: boolean;
}

const OPTION_KEYS = [
  "contentSecurityPolicy",
  "strictTransportSecurity",
  "xFrameOptions",
  "xContentTypeOptions",
  "referrerPolicy",
  "crossOriginOpenerPolicy",
  "cspNonce",
];

const REFERRER_POLICIES = new Set([
  "no-referrer",
  "no-referrer-when-downgrade",
  "origin",
  "origin-when-cross-origin",
  "same-origin",
  "strict-origin",
  "strict-origin-when-cross-origin",
  "unsafe-url",
]);

function checkValue(option: string, value: unknown): string {
  if (typeof value !== "string" || value.trim() === "") {
    throw new ConfigurationError(
      `SecurityHeadersMiddleware ${option} must be a non-empty string or false, got ${JSON.stringify(value)}`,
    );
  }
  try {
    assertHeaderValue(option, value);
  } catch {
    throw new ConfigurationError(`SecurityHeadersMiddleware ${option} contains CR, LF or another control character`);
  }
  return value.trim();
}

function checkChoice(option: string, value: unknown, allowed: readonly string[]): string {
  if (typeof value !== "string" || !allowed.includes(value)) {
    throw new ConfigurationError(
      `SecurityHeadersMiddleware ${option} must be one of ${allowed.join(", ")} or false, got ${JSON.stringify(value)}`,
    );
  }
  return value;
}

function checkHsts(value: unknown): string {
  const text = checkValue("strictTransportSecurity", value);
  const directives = text.split(";").map((part) => part.trim().toLowerCase());
  const maxAge = directives.find((part) => part.startsWith("max-age"));
  if (maxAge === undefined || !/^max-age\s*=\s*"?\d+"?$/.test(maxAge)) {
    throw new ConfigurationError(
      `SecurityHeadersMiddleware strictTransportSecurity needs a numeric max-age, such as "max-age=63072000; includeSubDomains", got ${JSON.stringify(value)}`,
    );
  }
  for (const directive of directives) {
    if (
      directive !== "" &&
      !directive.startsWith("max-age") &&
      directive !== "includesubdomains" &&
      directive !== "preload"
    ) {
      throw new ConfigurationError(
        `SecurityHeadersMiddleware strictTransportSecurity has an unknown directive ${JSON.stringify(directive)}`,
      );
    }
  }
  return text;
}

/** Creates a nonce: 16 random bytes, base64 as CSP expects. */
function createNonce(): string {
  return randomBytesFromPool(16).toString("base64");
}

/**
 * Sets browser security headers on every response the app sends, error pages, early
 * rejections from other middleware and fragments included, whatever this middleware's
 * position. Header strings are validated and built once, here; a header the handler set
 * itself is left as it is.
 */
export class SecurityHeadersMiddleware {
  readonly middlewareName = "SecurityHeadersMiddleware";
  readonly templateGlobals = {
    csp_nonce: (req: Request): string => req.cspNonce ?? "",
  };
  readonly #headers: Readonly<Record<string, string>>;
  readonly #hsts: string | null;
  readonly #nonceParts: readonly string[] | null;

  constructor(options: SecurityHeadersOptions = {}) {
    checkOptionKeys("SecurityHeadersMiddleware", options, OPTION_KEYS);
    const headers: Record<string, string> = {};

    const csp = options.contentSecurityPolicy ?? DEFAULT_CSP;
    let nonceParts: string[] | null = null;
    if (csp !== false) {
      const directives = parseCsp(
        checkValue("contentSecurityPolicy", csp),
        "SecurityHeadersMiddleware contentSecurityPolicy",
      );
      if (options.cspNonce === true) nonceParts = cspWithNonceParts(directives);
      else headers["content-security-policy"] = serialiseCsp(directives);
    } else if (options.cspNonce === true) {
      throw new ConfigurationError("SecurityHeadersMiddleware cspNonce needs a contentSecurityPolicy; it is false");
    }
    this.#nonceParts = nonceParts;

    const frame = options.xFrameOptions ?? "DENY";
    if (frame !== false) headers["x-frame-options"] = checkChoice("xFrameOptions", frame, ["DENY", "SAMEORIGIN"]);
    const sniff = options.xContentTypeOptions ?? "nosniff";
    if (sniff !== false) headers["x-content-type-options"] = checkChoice("xContentTypeOptions", sniff, ["nosniff"]);
    const referrer = options.referrerPolicy ?? "strict-origin-when-cross-origin";
    if (referrer !== false) {
      const value = checkValue("referrerPolicy", referrer);
      for (const policy of value.split(",").map((part) => part.trim())) {
        if (!REFERRER_POLICIES.has(policy)) {
          throw new ConfigurationError(
            `SecurityHeadersMiddleware referrerPolicy has an unknown policy ${JSON.stringify(policy)}`,
          );
        }
      }
      headers["referrer-policy"] = value;
    }
    const opener = options.crossOriginOpenerPolicy ?? "same-origin";
    if (opener !== false) {
      headers["cross-origin-opener-policy"] = checkChoice("crossOriginOpenerPolicy", opener, [
        "same-origin",
        "same-origin-allow-popups",
        "unsafe-none",
      ]);
    }
    const hsts = options.strictTransportSecurity ?? "max-age=31536000";
    this.#hsts = hsts === false ? null : checkHsts(hsts);
    this.#headers = Object.freeze(headers);
  }

  handle(req: Request, next: Next): Promise<Response> {
    if (this.#nonceParts !== null) req.cspNonce = createNonce();
    return next();
  }

  finalizeResponse(req: Request, response: Response): Response {
    const headers: Record<string, string> = { ...this.#headers };
    if (this.#nonceParts !== null) {
      req.cspNonce ??= createNonce();
      headers["content-security-policy"] = this.#nonceParts.join(req.cspNonce);
    }
    if (this.#hsts !== null && req.isSecure) headers["strict-transport-security"] = this.#hsts;
    // Headers the handler set itself win over the defaults. Assigning into the one copy saves a second.
    Object.assign(headers, response.headers);
    return Response.trusted(response.status, headers, response.body, response.cookies);
  }
}

import { parse, serialize, type SerializeOptions } from "cookie";
import { InvalidCookieError } from "../app/errors.js";

/** Attributes of a cookie set with `Response.withCookie`. */
export interface CookieOptions {
  /** Lifetime in seconds. Omitted: a session cookie that the browser drops when it closes. */
  maxAge?: number;
  /** Absolute expiry; `maxAge` takes precedence in browsers when both are sent. */
  expires?: Date;
  /** Default `"/"`. */
  path?: string;
  /** Omitted by default, so the cookie is sent to this host only. */
  domain?: string;
  /** Default `false`; required by the `__Secure-` and `__Host-` prefixes. */
  secure?: boolean;
  /** Default `true`, so scripts cannot read the cookie. */
  httpOnly?: boolean;
  /** Default `"lax"`. `"none"` requires `secure`. */
  sameSite?: "lax" | "strict" | "none";
  /** Default `false`. */
  partitioned?: boolean;
}

export type Cookies = Readonly<Record<string, string | undefined>>;

const EMPTY_COOKIES: Cookies = Object.freeze(Object.create(null) as Record<string, string>);

/**
 * Parses a `Cookie` header into a null-prototype record. The first of duplicate names wins,
 * as in browsers that send the most specific path first. Names are never percent-decoded, so
 * `%61=x` stays the cookie `%61` and cannot pose as `a`. Values are percent-decoded when
 * valid and kept as sent otherwise, and one pair of surrounding double quotes is removed, as
 * the quoted form of RFC 6265 section 4.1.1 and the cookie package before 1.0 did.
 */
export function parseCookieHeader(header: string | undefined): Cookies {
  if (header === undefined || header === "") return EMPTY_COOKIES;
  const parsed = parse(header);
  const cookies = Object.create(null) as Record<string, string>;
  for (const name in parsed) {
    const value = parsed[name];
    if (name === "" || value === undefined) continue;
    const quoted = value.length >= 2 && value.startsWith('"') && value.endsWith('"');
    cookies[name] = quoted ? value.slice(1, -1) : value;
  }
  return cookies;
}

// Characters that must never reach a Set-Cookie header unencoded: they end the attribute or the header.
const FORBIDDEN = /[;\r\n\0]/;

/**
 * Serialises a `Set-Cookie` value. Rejects `;`, CR, LF and NUL in the name, value, path or
 * domain instead of encoding them, since they only appear there through injection, and
 * enforces the `__Secure-` and `__Host-` prefix rules of RFC 6265bis section 4.1.3.
 */
export function serializeCookie(name: string, value: string, options: CookieOptions = {}): string {
  for (const [field, text] of [
    ["name", name],
    ["value", value],
    ["path", options.path],
    ["domain", options.domain],
  ] as const) {
    if (text !== undefined && FORBIDDEN.test(text)) {
      throw new InvalidCookieError(
        `Invalid cookie ${field} for ${JSON.stringify(name)}: ';', CR, LF and NUL are not allowed`,
      );
    }
  }

  const path = options.path ?? "/";
  const secure = options.secure ?? false;
  const sameSite = options.sameSite ?? "lax";
  if (name.startsWith("__Secure-") && !secure) {
    throw new InvalidCookieError(`Cookie ${name} uses the __Secure- prefix and must set secure: true`);
  }
  if (name.startsWith("__Host-") && (!secure || path !== "/" || options.domain !== undefined)) {
    throw new InvalidCookieError(
      `Cookie ${name} uses the __Host- prefix: it needs secure: true, path "/" and no domain`,
    );
  }
  if (sameSite === "none" && !secure) {
    throw new InvalidCookieError(`Cookie ${name} has sameSite "none", which browsers accept only with secure: true`);
  }
  if (options.maxAge !== undefined && !Number.isInteger(options.maxAge)) {
    throw new InvalidCookieError(
      `Cookie ${name} maxAge must be an integer number of seconds, got ${String(options.maxAge)}`,
    );
  }

  const serializeOptions: SerializeOptions = {
    path,
    secure,
    httpOnly: options.httpOnly ?? true,
    sameSite,
    partitioned: options.partitioned ?? false,
  };
  if (options.maxAge !== undefined) serializeOptions.maxAge = options.maxAge;
  if (options.expires !== undefined) serializeOptions.expires = options.expires;
  if (options.domain !== undefined) serializeOptions.domain = options.domain;
  try {
    return serialize(name, value, serializeOptions);
  } catch (error) {
    // The cookie package throws TypeError for a name, domain or path outside RFC 6265 syntax.
    throw new InvalidCookieError(`Invalid cookie ${JSON.stringify(name)}: ${(error as Error).message}`);
  }
}

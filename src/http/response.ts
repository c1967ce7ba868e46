import type { Readable } from "node:stream";
import { InvalidHeaderError } from "../app/errors.js";
import { serializeCookie, type CookieOptions } from "./cookies.js";
import { assertHeaderName, assertHeaderValue } from "./headers.js";

/** A response body: text, bytes, a readable stream, or none. */
export type ResponseBody = string | Uint8Array | Readable | null;

/** Options of the {@link Response} constructor. */
export interface ResponseInit {
  /** Default 200. */
  status?: number;
  /** Header names are case-insensitive and stored in lower case. */
  headers?: Readonly<Record<string, string>>;
}

type Headers = Readonly<Record<string, string>>;

const NO_COOKIES: readonly string[] = Object.freeze([]);
export const HTML_HEADERS: Headers = Object.freeze({ "content-type": "text/html; charset=utf-8" });
export const JSON_HEADERS: Headers = Object.freeze({ "content-type": "application/json; charset=utf-8" });
export const TEXT_HEADERS: Headers = Object.freeze({ "content-type": "text/plain; charset=utf-8" });

function assertStatus(status: number): void {
  if (!Number.isInteger(status) || status < 100 || status > 599) {
    throw new RangeError(`Response status must be an integer from 100 to 599, got ${String(status)}`);
  }
}

function normaliseHeaders(headers: Headers): Record<string, string> {
  const result: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    assertHeaderName(name);
    const lower = name.toLowerCase();
    if (lower === "set-cookie") {
      throw new InvalidHeaderError("Set Set-Cookie with Response.withCookie(), which validates the cookie");
    }
    assertHeaderValue(name, value);
    result[lower] = value;
  }
  return result;
}

/**
 * An HTTP response. Instances are immutable: `withHeader`, `withStatus`, `withCookie` and
 * `withoutCookie` return a new response and leave the original untouched. Header names and
 * values are validated, so a value with CR or LF throws instead of splitting the response.
 */
export class Response {
  readonly status: number;
  /** Header values by lower-case name, without `Set-Cookie`. */
  readonly headers: Headers;
  /** Serialised `Set-Cookie` values, one per cookie. */
  readonly cookies: readonly string[];
  readonly body: ResponseBody;

  constructor(body: ResponseBody = null, init: ResponseInit = {}) {
    const status = init.status ?? 200;
    assertStatus(status);
    this.status = status;
    this.headers = init.headers === undefined ? {} : normaliseHeaders(init.headers);
    this.cookies = NO_COOKIES;
    this.body = body;
  }

  /** Creates a response from values that are already valid, skipping validation on hot paths. */
  static trusted(
    status: number,
    headers: Headers,
    body: ResponseBody,
    cookies: readonly string[] = NO_COOKIES,
  ): Response {
    const response = Object.create(Response.prototype) as { -readonly [K in keyof Response]: Response[K] };
    response.status = status;
    response.headers = headers;
    response.cookies = cookies;
    response.body = body;
    return response;
  }

  /** An HTML response with `Content-Type: text/html; charset=utf-8`. */
  static html(body: string, status = 200): Response {
    assertStatus(status);
    return Response.trusted(status, HTML_HEADERS, body);
  }

  /** A JSON response; `value` goes through `JSON.stringify`. */
  static json(value: unknown, status = 200): Response {
    assertStatus(status);
    return Response.trusted(status, JSON_HEADERS, JSON.stringify(value));
  }

  /** A plain-text response with `Content-Type: text/plain; charset=utf-8`. */
  static text(body: string, status = 200): Response {
    assertStatus(status);
    return Response.trusted(status, TEXT_HEADERS, body);
  }

  /** Returns the value of a header, matched case-insensitively. */
  header(name: string): string | undefined {
    return this.headers[name.toLowerCase()];
  }

  withStatus(status: number): Response {
    assertStatus(status);
    return Response.trusted(status, this.headers, this.body, this.cookies);
  }

  /** Returns a copy with the header set, replacing any earlier value of that name. */
  withHeader(name: string, value: string): Response {
    return Response.trusted(
      this.status,
      { ...this.headers, ...normaliseHeaders({ [name]: value }) },
      this.body,
      this.cookies,
    );
  }

  /** Returns a copy with all `headers` set; one copy instead of one per header. */
  withHeaders(headers: Headers): Response {
    return Response.trusted(this.status, { ...this.headers, ...normaliseHeaders(headers) }, this.body, this.cookies);
  }

  withoutHeader(name: string): Response {
    const lower = name.toLowerCase();
    const headers = Object.fromEntries(Object.entries(this.headers).filter(([key]) => key !== lower));
    return Response.trusted(this.status, headers, this.body, this.cookies);
  }

  /**
   * Returns a copy that sets a cookie. Defaults: `path "/"`, `httpOnly`, `sameSite "lax"`.
   * Throws for `;`, CR, LF or NUL anywhere in the cookie, and for broken prefix rules.
   */
  withCookie(name: string, value: string, options?: CookieOptions): Response {
    return Response.trusted(this.status, this.headers, this.body, [
      ...this.cookies,
      serializeCookie(name, value, options),
    ]);
  }

  /** Returns a copy that deletes a cookie; pass the `path` and `domain` it was set with. */
  withoutCookie(name: string, options: Pick<CookieOptions, "path" | "domain" | "secure" | "sameSite"> = {}): Response {
    const cookie = serializeCookie(name, "", { ...options, maxAge: 0, expires: new Date(0) });
    return Response.trusted(this.status, this.headers, this.body, [...this.cookies, cookie]);
  }

  withBody(body: ResponseBody): Response {
    return Response.trusted(this.status, this.headers, body, this.cookies);
  }
}

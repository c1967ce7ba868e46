import { randomUUID } from "node:crypto";
import type { IncomingHttpHeaders } from "node:http";
import type { Readable } from "node:stream";
import secureJson from "secure-json-parse";
import { ConfigurationError, HTTPError } from "../app/errors.js";
import type { Logger } from "../app/logger.js";
import type { Session } from "../middleware/session/session.js";
import type { AuthUser } from "../security/users.js";
import { checkContentLength, mediaType, readBody, requireUtf8 } from "./body.js";
import { resolveClientAddress, type TrustFunction } from "./client-address.js";
import { parseCookieHeader, type Cookies } from "./cookies.js";
import { parseMultipart, parseUrlencoded, type Form } from "./form.js";
import type { BodyLimits } from "./limits.js";

/** The parts of an HTTP request that a server adapter passes to the app. */
export interface RawRequest {
  method: string;
  /** The request target as received: origin form (`/path?query`) or absolute form. */
  url: string;
  headers: IncomingHttpHeaders;
  body: Readable | null;
  remoteAddress: string | undefined;
  /** True when the connection itself is TLS. */
  encrypted: boolean;
}

/** Settings of the app that every request reads; built once at start-up. */
export interface RequestSettings {
  readonly limits: Readonly<BodyLimits>;
  readonly trust: TrustFunction | null;
  readonly logger: Logger;
}

/**
 * Splits the request target into a raw path and a query string. Throws 400 for a target that
 * is neither origin form nor absolute form.
 */
export function splitTarget(url: string): { rawPath: string; search: string } {
  let target = url;
  if (!target.startsWith("/")) {
    // Absolute form (RFC 9112 section 3.2.2) is what a client sends through a forward proxy.
    let parsed: URL;
    try {
      parsed = new URL(target);
    } catch {
      throw new HTTPError(400, "Invalid request target");
    }
    if (parsed.protocol !== "http:" && parsed.protocol !== "https:") throw new HTTPError(400, "Invalid request target");
    target = parsed.pathname + parsed.search;
  }
  const question = target.indexOf("?");
  return question === -1
    ? { rawPath: target, search: "" }
    : { rawPath: target.slice(0, question), search: target.slice(question + 1) };
}

// eslint-disable-next-line no-control-regex -- matching control characters is the point
const CONTROL_CHARACTER = /[\0-\x1f\x7f]/;

/**
 * Decodes a raw path for `req.path`: percent-decoded, repeated slashes collapsed. Throws 400
 * for invalid percent-encoding or a control character, such as an encoded NUL or newline.
 */
export function decodePath(rawPath: string): string {
  let path: string;
  try {
    path = rawPath.includes("%") ? decodeURIComponent(rawPath) : rawPath;
  } catch {
    throw new HTTPError(400, "Invalid percent-encoding in the request path");
  }
  if (CONTROL_CHARACTER.test(path)) throw new HTTPError(400, "Control characters are not allowed in the request path");
  return path.includes("//") ? path.replace(/\/{2,}/g, "/") : path;
}

/** An incoming HTTP request as handlers and middleware see it. */
export class Request {
  /** Upper-case method, as sent. */
  readonly method: string;
  /** The request target as received, path and query string. */
  readonly url: string;
  /** Percent-decoded path with repeated slashes collapsed. */
  readonly path: string;
  /** Request headers by lower-case name. */
  readonly headers: IncomingHttpHeaders;
  /** The matched route pattern, such as `/notes/:id`, or null when no route matched. */
  route: string | null = null;
  /** Path parameters of the matched route, percent-decoded. */
  params: Readonly<Record<string, string>> = {};
  /** Per-request values for the application's own middleware. */
  readonly state: Record<string, unknown> = {};
  /** The app's diagnostics logger. */
  readonly logger: Logger;

  /** Set by SecurityHeadersMiddleware with `cspNonce: true`: the nonce of this response. */
  cspNonce: string | undefined = undefined;

  #raw: RawRequest;
  #settings: RequestSettings;
  #search: string;
  #query: URLSearchParams | undefined;
  #cookies: Cookies | undefined;
  #ip: string | undefined;
  #bytes: Promise<Buffer> | undefined;
  #form: Promise<Form> | undefined;
  #json: Promise<unknown> | undefined;
  #session: Session | undefined;
  #user: AuthUser | undefined;
  #authenticatedBy: "session" | "token" | null = null;
  #csrfTokenProvider: (() => string) | undefined;
  #id: string | undefined;

  constructor(raw: RawRequest, settings: RequestSettings, rawPath: string, search: string) {
    this.method = raw.method;
    this.url = raw.url;
    this.path = decodePath(rawPath);
    this.headers = raw.headers;
    this.logger = settings.logger;
    this.#raw = raw;
    this.#settings = settings;
    this.#search = search;
  }

  /** A random id for this request, created on first use; audit events carry it. */
  get id(): string {
    this.#id ??= randomUUID();
    return this.#id;
  }

  /** Query string parameters. */
  get query(): URLSearchParams {
    this.#query ??= new URLSearchParams(this.#search);
    return this.#query;
  }

  /** Cookies by name in a null-prototype record; the first of duplicate names wins. */
  get cookies(): Cookies {
    this.#cookies ??= parseCookieHeader(this.headers.cookie);
    return this.#cookies;
  }

  /**
   * The client address: the socket peer, or the address a trusted proxy reports when the
   * app's `trustProxy` option allows it. IPv4-mapped IPv6 addresses are returned as IPv4.
   */
  get ip(): string {
    this.#ip ??= resolveClientAddress(this.#raw.remoteAddress, this.headers["x-forwarded-for"], this.#settings.trust);
    return this.#ip;
  }

  /** True for TLS, or when a trusted proxy reports `X-Forwarded-Proto: https`. */
  get isSecure(): boolean {
    if (this.#raw.encrypted) return true;
    const trust = this.#settings.trust;
    if (trust === null || !trust(this.#raw.remoteAddress ?? "", 0)) return false;
    const proto = this.headers["x-forwarded-proto"];
    if (typeof proto !== "string") return false;
    // The left-most value is the protocol the first proxy saw from the client.
    const first = proto.split(",", 1)[0] ?? "";
    return first.trim().toLowerCase() === "https";
  }

  /**
   * True for requests that htmx sent (`HX-Request: true`), except history-restore requests:
   * htmx sends those when a page is missing from its cache, and they need the full page.
   */
  get isHtmx(): boolean {
    return this.headers["hx-request"] === "true" && this.headers["hx-history-restore-request"] !== "true";
  }

  /** The session of SessionMiddleware; throws when it is not installed. */
  get session(): Session {
    if (this.#session === undefined) {
      throw new ConfigurationError("req.session needs SessionMiddleware: add it with app.addMiddleware()");
    }
    return this.#session;
  }

  set session(session: Session) {
    this.#session = session;
  }

  /**
   * The user AuthMiddleware loaded, or the anonymous user (`id: ""`) when no user is logged
   * in; throws when AuthMiddleware is not installed. Cast it to the application's user type.
   */
  get user(): AuthUser {
    if (this.#user === undefined) {
      throw new ConfigurationError("req.user needs AuthMiddleware: add it with app.addMiddleware()");
    }
    return this.#user;
  }

  /** True when a user is logged in, through the session or a bearer token. */
  get isAuthenticated(): boolean {
    return this.#authenticatedBy !== null;
  }

  /** The way the user was authenticated: `"session"`, `"token"`, or null when anonymous. */
  get authenticatedBy(): "session" | "token" | null {
    return this.#authenticatedBy;
  }

  /**
   * A CSRF token for this session, masked anew on every read, so each rendered form gets a
   * different token. Throws when CSRFMiddleware is not installed.
   */
  get csrfToken(): string {
    if (this.#csrfTokenProvider === undefined) {
      throw new ConfigurationError("req.csrfToken needs CSRFMiddleware: add it with app.addMiddleware()");
    }
    return this.#csrfTokenProvider();
  }

  /** @internal Called by CSRFMiddleware. */
  setCsrfTokenProvider(provider: () => string): void {
    this.#csrfTokenProvider = provider;
  }

  /** @internal Sets the user; called by AuthMiddleware, `login` and `logout`. */
  setUser(user: AuthUser, authenticatedBy: "session" | "token" | null): void {
    this.#user = user;
    this.#authenticatedBy = authenticatedBy;
  }

  /** Reads the raw body, at most `limits.bodyBytes` long (413 beyond), once; later calls reuse it. */
  bytes(): Promise<Buffer> {
    if (this.#bytes === undefined) {
      const limit = this.#settings.limits.bodyBytes;
      try {
        checkContentLength(this.headers["content-length"], limit);
        this.#bytes = readBody(this.#raw.body, limit);
      } catch (error) {
        this.#bytes = Promise.reject(error instanceof Error ? error : new Error(String(error)));
      }
    }
    return this.#bytes;
  }

  /** Reads the body as UTF-8 text. */
  async text(): Promise<string> {
    return (await this.bytes()).toString("utf8");
  }

  /**
   * Parses the body as JSON. Requires a JSON Content-Type (415 otherwise); invalid JSON and
   * objects with `__proto__` or `constructor.prototype` keys give 400.
   */
  json(): Promise<unknown> {
    this.#json ??= this.#parseJson();
    return this.#json;
  }

  /**
   * Parses the body as an urlencoded or multipart form; other types give 415. Parsed once:
   * middleware and the handler share the same result.
   */
  form(): Promise<Form> {
    this.#form ??= this.#parseForm();
    return this.#form;
  }

  async #parseJson(): Promise<unknown> {
    const type = mediaType(this.headers["content-type"]);
    if (type !== "application/json" && !type.endsWith("+json")) {
      throw new HTTPError(415, "Expected a JSON body (Content-Type: application/json)");
    }
    requireUtf8(this.headers["content-type"]);
    const text = await this.text();
    try {
      return secureJson.parse(text, undefined, { protoAction: "error", constructorAction: "error" });
    } catch (error) {
      throw new HTTPError(400, "Invalid JSON body", { cause: error });
    }
  }

  async #parseForm(): Promise<Form> {
    const contentType = this.headers["content-type"];
    const type = mediaType(contentType);
    if (type === "application/x-www-form-urlencoded") {
      requireUtf8(contentType);
      return parseUrlencoded(await this.bytes(), this.#settings.limits);
    }
    if (type === "multipart/form-data") {
      if (this.#bytes !== undefined) throw new HTTPError(400, "The body was already read as raw bytes");
      const limits = this.#settings.limits;
      checkContentLength(this.headers["content-length"], limits.multipartBytes);
      this.#bytes = Promise.reject(new HTTPError(400, "The body was already read as a multipart form"));
      this.#bytes.catch(() => undefined);
      return parseMultipart(this.#raw.body, contentType as string, limits);
    }
    throw new HTTPError(415, "Expected a form body (urlencoded or multipart/form-data)");
  }
}

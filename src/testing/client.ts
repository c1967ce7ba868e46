import type { IncomingHttpHeaders } from "node:http";
import { Readable } from "node:stream";
import type { App } from "../app/app.js";
import type { RawRequest } from "../http/request.js";
import type { Response } from "../http/response.js";
import { CookieJar } from "./cookie-jar.js";

/** Options of {@link TestClient}. */
export interface TestClientOptions {
  /** Origin the requests appear to come to. Default `http://testserver`; use https for secure cookies. */
  baseUrl?: string;
  /** Socket address of the simulated client. Default `127.0.0.1`. */
  remoteAddress?: string;
  /** Clock for cookie expiry, so tests can move time without sleeping. Default `() => new Date()`. */
  now?: () => Date;
}

/** Options of one test request. */
export interface TestRequestOptions {
  headers?: Readonly<Record<string, string>>;
  /** Query parameters appended to the path. */
  query?: Readonly<Record<string, string>> | URLSearchParams;
  /** An urlencoded form body. */
  form?: Readonly<Record<string, string | readonly string[]>> | URLSearchParams;
  /** A multipart body, serialised with the platform's FormData encoder. */
  multipart?: FormData;
  /** A JSON body. */
  json?: unknown;
  /** A raw body; set Content-Type yourself through `headers`. */
  body?: string | Uint8Array;
  /** Send no cookies from the jar and store none from the response. */
  withoutCookies?: boolean;
}

/** A response as the test client saw it. */
export class TestResponse {
  constructor(
    readonly status: number,
    /** Headers by lower-case name, without Set-Cookie. */
    readonly headers: Readonly<Record<string, string>>,
    /** Set-Cookie values, one per cookie. */
    readonly cookies: readonly string[],
    readonly body: Buffer,
  ) {}

  get text(): string {
    return this.body.toString("utf8");
  }

  header(name: string): string | undefined {
    return this.headers[name.toLowerCase()];
  }

  /** Parses the body as JSON; `T` is the shape the test expects, not checked. */
  // eslint-disable-next-line @typescript-eslint/no-unnecessary-type-parameters -- a typed cast for test code
  json<T = unknown>(): T {
    return JSON.parse(this.text) as T;
  }
}

async function collectBody(response: Response, isHead: boolean): Promise<Buffer> {
  const body = response.body;
  if (body === null) return Buffer.alloc(0);
  if (body instanceof Readable) {
    if (isHead) {
      body.destroy();
      return Buffer.alloc(0);
    }
    const chunks: Buffer[] = [];
    for await (const chunk of body) chunks.push(Buffer.from(chunk as Uint8Array));
    return Buffer.concat(chunks);
  }
  if (isHead) return Buffer.alloc(0);
  return typeof body === "string" ? Buffer.from(body) : Buffer.from(body);
}

const CSRF_META = /<meta\b[^>]*\bname="csrf-token"[^>]*>/i;
const VALUE_ATTRIBUTE = /\b(?:value|content)="([^"]*)"/i;

/**
 * Reads the CSRF token from a page: the hidden input named `fieldName` (default
 * `_csrf_token`) or the `csrf-token` meta tag.
 */
export function extractCsrfToken(html: string, fieldName = "_csrf_token"): string | null {
  const escaped = fieldName.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  const input = new RegExp(`<input\\b[^>]*\\bname="${escaped}"[^>]*>`, "i");
  const tag = input.exec(html)?.[0] ?? CSRF_META.exec(html)?.[0];
  if (tag === undefined) return null;
  return VALUE_ATTRIBUTE.exec(tag)?.[1] ?? null;
}

/**
 * Sends requests to an app in-process, through the same routing, middleware and error
 * handling as a real server, with a cookie jar that honours Path, Domain, Max-Age, Expires
 * and Secure. Creating a client runs the app's start-up checks.
 */
export class TestClient {
  readonly jar: CookieJar;
  readonly #app: App;
  readonly #base: URL;
  readonly #remoteAddress: string;
  readonly #now: () => Date;

  constructor(app: App, options: TestClientOptions = {}) {
    this.#app = app.ready();
    this.#base = new URL(options.baseUrl ?? "http://testserver");
    this.#remoteAddress = options.remoteAddress ?? "127.0.0.1";
    this.#now = options.now ?? (() => new Date());
    this.jar = new CookieJar(this.#now);
  }

  get(path: string, options?: TestRequestOptions): Promise<TestResponse> {
    return this.request("GET", path, options);
  }

  head(path: string, options?: TestRequestOptions): Promise<TestResponse> {
    return this.request("HEAD", path, options);
  }

  post(path: string, options?: TestRequestOptions): Promise<TestResponse> {
    return this.request("POST", path, options);
  }

  put(path: string, options?: TestRequestOptions): Promise<TestResponse> {
    return this.request("PUT", path, options);
  }

  patch(path: string, options?: TestRequestOptions): Promise<TestResponse> {
    return this.request("PATCH", path, options);
  }

  delete(path: string, options?: TestRequestOptions): Promise<TestResponse> {
    return this.request("DELETE", path, options);
  }

  options(path: string, options?: TestRequestOptions): Promise<TestResponse> {
    return this.request("OPTIONS", path, options);
  }

  /**
   * Fetches `path` with GET and returns the CSRF token of the page, from its hidden
   * `_csrf_token` input or `csrf-token` meta tag. Throws when the page has none.
   */
  async csrfToken(path = "/"): Promise<string> {
    const page = await this.get(path);
    const token = extractCsrfToken(page.text);
    if (token === null) {
      throw new Error(
        `GET ${path} returned ${String(page.status)} with no CSRF token; render {{ csrf_field() }} in its form`,
      );
    }
    return token;
  }

  /** Returns the value of a cookie the jar would send to `path`, or undefined. */
  cookie(name: string, path = "/"): string | undefined {
    return this.jar.cookiesFor(new URL(path, this.#base)).find((cookie) => cookie.name === name)?.value;
  }

  /** Sends a request. `path` is the request target as sent, so it may carry encoded or odd characters. */
  async request(method: string, path: string, options: TestRequestOptions = {}): Promise<TestResponse> {
    const url = new URL(this.#base.href);
    let target = path;
    if (options.query !== undefined) {
      const query = new URLSearchParams(options.query as Record<string, string>).toString();
      target += (target.includes("?") ? "&" : "?") + query;
    }
    const cookieUrl = new URL(target.startsWith("/") ? target : `/${target}`, url);

    const headers: IncomingHttpHeaders = { host: url.host };
    const { body, contentType } = await this.#encodeBody(options);
    if (contentType !== undefined) headers["content-type"] = contentType;
    if (body !== null) headers["content-length"] = String(body.byteLength);
    if (options.withoutCookies !== true) {
      const cookieHeader = this.jar.headerFor(cookieUrl);
      if (cookieHeader !== "") headers.cookie = cookieHeader;
    }
    for (const [name, value] of Object.entries(options.headers ?? {})) headers[name.toLowerCase()] = value;

    const raw: RawRequest = {
      method: method.toUpperCase(),
      url: target,
      headers,
      body: body === null ? null : Readable.from([body]),
      remoteAddress: this.#remoteAddress,
      encrypted: url.protocol === "https:",
    };
    const response = await this.#app.dispatch(raw);
    if (options.withoutCookies !== true) {
      for (const cookie of response.cookies) this.jar.store(cookie, cookieUrl);
    }
    const responseBody = await collectBody(response, raw.method === "HEAD");
    return new TestResponse(response.status, { ...response.headers }, response.cookies, responseBody);
  }

  async #encodeBody(options: TestRequestOptions): Promise<{ body: Buffer | null; contentType: string | undefined }> {
    if (options.form !== undefined) {
      const params = new URLSearchParams();
      const entries = options.form instanceof URLSearchParams ? [...options.form] : Object.entries(options.form);
      for (const [name, value] of entries) {
        for (const item of [value].flat()) params.append(name, item);
      }
      return { body: Buffer.from(params.toString()), contentType: "application/x-www-form-urlencoded" };
    }
    if (options.multipart !== undefined) {
      // The WHATWG Response constructor encodes FormData as multipart with a fresh boundary.
      const encoded = new globalThis.Response(options.multipart);
      return {
        body: Buffer.from(await encoded.arrayBuffer()),
        contentType: encoded.headers.get("content-type") ?? undefined,
      };
    }
    if (options.json !== undefined) {
      return { body: Buffer.from(JSON.stringify(options.json)), contentType: "application/json" };
    }
    if (options.body !== undefined) return { body: Buffer.from(options.body), contentType: undefined };
    return { body: null, contentType: undefined };
  }
}

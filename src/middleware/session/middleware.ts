import { createHmac, randomBytes } from "node:crypto";
import type { App } from "../../app/app.js";
import { ChirpError, ConfigurationError, HTTPError } from "../../app/errors.js";
import { checkOptionKeys } from "../../app/options.js";
import type { Next } from "../../app/types.js";
import type { Request } from "../../http/request.js";
import { Response } from "../../http/response.js";
import { serializeCookie, type CookieOptions } from "../../http/cookies.js";
import { emitSecurityEvent } from "../../security/audit.js";
import { SecretKeys } from "../../security/keys.js";
import { open, seal, sealedLength } from "./cookie-codec.js";
import { Session, type SessionData, type SessionSizeLimit } from "./session.js";
import type { SessionRecord, SessionStore } from "./store.js";

/** Options of {@link SessionMiddleware}. */
export interface SessionOptions {
  /** Secret key or keys, newest first. Default: `CHIRP_SECRET_KEY`. At least 32 bytes each. */
  secretKey?: string | readonly string[];
  /** Default `"chirp_session"`. A `__Host-` name needs `secure`, path "/" and no domain. */
  cookieName?: string;
  /** Seconds a session lives without being written; the cookie's Max-Age. Default 86,400. */
  maxAge?: number;
  /** Cookie path. Default `"/"`. */
  path?: string;
  /** Cookie domain. Default: none, so the cookie goes to this host only. */
  domain?: string;
  /** Default true in production and false otherwise. */
  secure?: boolean;
  /** Default true. */
  httpOnly?: boolean;
  /** Default `"lax"`. */
  sameSite?: "lax" | "strict" | "none";
  /** Seconds of inactivity after which the session ends. Default: only `maxAge` applies. */
  idleTimeoutSeconds?: number;
  /** Seconds after creation (or the last `regenerate`) after which the session ends. Default: none. */
  absoluteTimeoutSeconds?: number;
  /** Server-side store. Default: the data lives in the cookie, encrypted with AES-256-GCM. */
  store?: SessionStore;
  /** Clock in epoch milliseconds, for tests. Default `Date.now`. */
  clock?: () => number;
  /** Allows a cookie without `secure` in production. Only behind a proxy that adds TLS. */
  dangerouslyAllowInsecureCookies?: boolean;
}

const OPTION_KEYS = [
  "secretKey",
  "cookieName",
  "maxAge",
  "path",
  "domain",
  "secure",
  "httpOnly",
  "sameSite",
  "idleTimeoutSeconds",
  "absoluteTimeoutSeconds",
  "store",
  "clock",
  "dangerouslyAllowInsecureCookies",
];

/** Browsers drop a cookie whose name, value and attributes pass 4,096 bytes (RFC 6265 section 6.1). */
const MAX_COOKIE_BYTES = 4096;
/** Space reserved for the cookie's attributes when checking the size of a cookie session. */
const ATTRIBUTE_ALLOWANCE = 160;
/** Bytes of `{"c":,"s":,"d":}`, the JSON around the timestamps and data of a cookie session. */
const PAYLOAD_WRAPPER_BYTES = Buffer.byteLength('{"c":,"s":,"d":}');
/** A session seen again is re-saved at most this often just to refresh its last-seen time. */
const TOUCH_INTERVAL_MS = 60_000;
const SESSION_ID = /^[A-Za-z0-9_-]{43}$/;
/**
 * Cookie values recently authenticated, mapped to their plaintext, so a visitor's repeated
 * requests skip AES-GCM. Bounded; filled only after a value authenticates.
 */
const OPENED_CACHE_SIZE = 1024;

/** A cookie session that would not fit in a browser cookie. */
export class SessionTooLargeError extends ChirpError {
  readonly code = "CHIRP_SESSION_TOO_LARGE";
  readonly status = 500;

  constructor(bytes: number) {
    super(
      `The session cookie would be about ${String(bytes)} bytes, over the ${String(MAX_COOKIE_BYTES)}-byte limit of browsers. ` +
        "Store less in the session, or keep sessions server-side with new SessionMiddleware({ store: new MemorySessionStore() }) " +
        "or a RedisSessionStore.",
    );
    this.name = "SessionTooLargeError";
  }
}

interface OpenedSession {
  data: SessionData;
  createdAt: number;
  lastSeenAt: number;
  /** The cookie value or session id that arrived, when it opened a session. */
  id: string | null;
  /** Storage key of the server-side record. */
  storageKey: string | null;
  /** True when an older key opened the session, so it must be re-issued under the newest. */
  reissue: boolean;
  /**
   * At least the byte length of the data's JSON, for the cookie store's size check: the
   * length of the plaintext that contains it.
   */
  dataBytesBound?: number;
}

function positiveSeconds(name: string, value: number | undefined): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== "number" || !Number.isFinite(value) || value <= 0) {
    throw new ConfigurationError(
      `SessionMiddleware ${name} must be a positive number of seconds, got ${String(value)}`,
    );
  }
  return value;
}

interface ParsedPayload {
  data: SessionData;
  createdAt: number;
  lastSeenAt: number;
}

interface OpenedCookie {
  keyIndex: number;
  createdAt: number;
  lastSeenAt: number;
  plaintext: string;
  /** Byte length of the plaintext. */
  plaintextBytes: number;
  /** The data, frozen, when every value is a string, number, boolean or null; else null. */
  flatData: Readonly<SessionData> | null;
}

function parsePayload(plaintext: string): (ParsedPayload & { flatData: Readonly<SessionData> | null }) | null {
  let payload: unknown;
  try {
    payload = JSON.parse(plaintext);
  } catch {
    return null;
  }
  const { c: createdAt, s: lastSeenAt, d: raw } = (payload ?? {}) as { c?: unknown; s?: unknown; d?: unknown };
  if (typeof createdAt !== "number" || typeof lastSeenAt !== "number" || typeof raw !== "object" || raw === null) {
    return null;
  }
  const data = toNullPrototype(raw);
  const flat = Object.values(data).every((value) => value === null || typeof value !== "object");
  return { data, createdAt, lastSeenAt, flatData: flat ? Object.freeze(toNullPrototype(data)) : null };
}

function toNullPrototype(data: unknown): SessionData {
  return Object.assign(Object.create(null) as SessionData, data);
}

/**
 * Sessions for every request, in `req.session`. By default the data lives in the cookie,
 * encrypted and authenticated with AES-256-GCM, so the client can neither read nor change it.
 * With a `store`, the cookie carries a random 256-bit id. Timestamps live inside the
 * protected data, so editing the cookie's Max-Age or replaying an old cookie cannot extend a
 * session. Expired, tampered or unknown sessions become new empty sessions.
 */
export class SessionMiddleware {
  readonly middlewareName = "SessionMiddleware";
  readonly #options: SessionOptions;
  readonly #keys: readonly Buffer[];
  readonly #cookieName: string;
  readonly #maxAgeMs: number;
  readonly #maxAgeSeconds: number;
  readonly #idleMs: number | undefined;
  readonly #absoluteMs: number | undefined;
  readonly #touchMs: number;
  readonly #store: SessionStore | undefined;
  readonly #clock: () => number;
  readonly #associatedData: Buffer;
  readonly #openedCache = new Map<string, OpenedCookie>();
  #cookieOptions: CookieOptions | undefined;
  /** The size limit of the cookie store, where the whole session travels in the cookie. */
  readonly #cookieSizeLimit: SessionSizeLimit;
  /**
   * The attributes that follow `name=value` in the session's Set-Cookie, serialised once at
   * setup: they never change, and the values are base64url, which needs no encoding.
   */
  #cookieAttributes = "";

  constructor(options: SessionOptions = {}) {
    checkOptionKeys("SessionMiddleware", options, OPTION_KEYS);
    this.#options = options;
    this.#keys = SecretKeys.resolve(options.secretKey, "secretKey").derive("session");
    this.#cookieName = options.cookieName ?? "chirp_session";
    this.#cookieSizeLimit = {
      maxDataBytes: this.#maxCookieDataBytes(),
      tooLarge: (dataBytes) => new SessionTooLargeError(this.#cookieBytes(dataBytes)),
    };
    this.#maxAgeSeconds = positiveSeconds("maxAge", options.maxAge) ?? 86_400;
    if (!Number.isInteger(this.#maxAgeSeconds)) {
      throw new ConfigurationError(
        `SessionMiddleware maxAge must be a whole number of seconds, got ${String(options.maxAge)}`,
      );
    }
    this.#maxAgeMs = this.#maxAgeSeconds * 1000;
    const idle = positiveSeconds("idleTimeoutSeconds", options.idleTimeoutSeconds);
    const absolute = positiveSeconds("absoluteTimeoutSeconds", options.absoluteTimeoutSeconds);
    this.#idleMs = idle === undefined ? undefined : idle * 1000;
    this.#absoluteMs = absolute === undefined ? undefined : absolute * 1000;
    // Refresh the last-seen time often enough that an active visitor never hits the idle limit.
    this.#touchMs = Math.min(TOUCH_INTERVAL_MS, Math.min(this.#idleMs ?? Infinity, this.#maxAgeMs) / 2);
    if (options.store !== undefined) {
      const store = options.store as Partial<SessionStore> | null;
      if (
        typeof store?.load !== "function" ||
        typeof store.save !== "function" ||
        typeof store.destroy !== "function"
      ) {
        throw new ConfigurationError("SessionMiddleware store must implement load, save and destroy");
      }
    }
    this.#store = options.store;
    this.#clock = options.clock ?? Date.now;
    this.#associatedData = Buffer.from(`bengal-chirp session ${this.#cookieName}`, "utf8");
  }

  /** Resolves the cookie flags, which depend on the environment, and checks them. */
  setup(app: App): void {
    const secure = this.#options.secure ?? app.env === "production";
    if (app.env === "production" && !secure && this.#options.dangerouslyAllowInsecureCookies !== true) {
      throw new ConfigurationError(
        "SessionMiddleware secure is false in production, so the session cookie would travel over plain HTTP. " +
          "Remove secure: false, or set dangerouslyAllowInsecureCookies: true if a proxy in front adds TLS.",
      );
    }
    const cookieOptions: CookieOptions = {
      path: this.#options.path ?? "/",
      secure,
      httpOnly: this.#options.httpOnly ?? true,
      sameSite: this.#options.sameSite ?? "lax",
      maxAge: this.#maxAgeSeconds,
    };
    if (this.#options.domain !== undefined) cookieOptions.domain = this.#options.domain;
    let serialized: string;
    try {
      serialized = serializeCookie(this.#cookieName, "x", cookieOptions);
    } catch (error) {
      throw new ConfigurationError(`SessionMiddleware cookie settings are invalid: ${(error as Error).message}`);
    }
    this.#cookieOptions = cookieOptions;
    this.#cookieAttributes = serialized.slice(`${this.#cookieName}=x`.length);
  }

  handle(req: Request, next: Next): Promise<Response> {
    const now = this.#clock();
    // The cookie store opens sessions synchronously, which saves a promise on every request.
    if (this.#store === undefined) return this.#run(req, next, this.#openFromCookie(req, now), now);
    return this.#openFromStore(req, now).then((opened) => this.#run(req, next, opened, now));
  }

  async #run(req: Request, next: Next, opened: OpenedSession | null, now: number): Promise<Response> {
    const session = new Session(
      opened?.data ?? toNullPrototype({}),
      opened === null,
      this.#store === undefined ? this.#cookieSizeLimit : null,
      opened?.dataBytesBound,
    );
    req.session = session;
    const response = await next();
    return this.#commit(session, opened, now, response);
  }

  /** Returns the size of the cookie that carries session data whose JSON is `dataBytes` long. */
  #cookieBytes(dataBytes: number): number {
    // The payload is {"c":…,"s":…,"d":data}, with 32 bytes allowed for the two timestamps.
    const payloadBytes = PAYLOAD_WRAPPER_BYTES + dataBytes + 32;
    return this.#cookieName.length + 1 + sealedLength(payloadBytes) + ATTRIBUTE_ALLOWANCE;
  }

  /** Returns the largest session data, as JSON bytes, whose cookie stays within MAX_COOKIE_BYTES. */
  #maxCookieDataBytes(): number {
    // Base64url turns 3 bytes into 4; the estimate leaves out the sealing overhead, so it starts high.
    let max = Math.floor(((MAX_COOKIE_BYTES - ATTRIBUTE_ALLOWANCE - this.#cookieName.length - 1) * 3) / 4);
    while (max > 0 && this.#cookieBytes(max) > MAX_COOKIE_BYTES) max--;
    return max;
  }

  #openFromCookie(req: Request, now: number): OpenedSession | null {
    const value = req.cookies[this.#cookieName];
    if (value === undefined || value === "") return null;
    const opened = this.#openCookie(value);
    if (opened === null) {
      emitSecurityEvent("session.invalid", { req, details: { store: "cookie" } });
      return null;
    }
    return this.#unlessExpired(req, opened, now);
  }

  async #openFromStore(req: Request, now: number): Promise<OpenedSession | null> {
    const value = req.cookies[this.#cookieName];
    if (value === undefined || value === "") return null;
    const opened = await this.#openRecord(value);
    if (opened === null) {
      emitSecurityEvent("session.invalid", { req, details: { store: "server" } });
      return null;
    }
    if (this.#unlessExpired(req, opened, now) !== null) return opened;
    await this.#storeCall(() => this.#store?.destroy(opened.storageKey as string));
    return null;
  }

  #unlessExpired(req: Request, opened: OpenedSession, now: number): OpenedSession | null {
    const expiredBy = this.#expiryReason(opened, now);
    if (expiredBy === null) return opened;
    emitSecurityEvent("session.expired", { req, details: { reason: expiredBy } });
    return null;
  }

  #openCookie(value: string): OpenedSession | null {
    let cached = this.#openedCache.get(value);
    if (cached === undefined) {
      const result = open(this.#keys, this.#associatedData, value);
      if (result === null) return null;
      const parsed = parsePayload(result.plaintext);
      if (parsed === null) return null;
      cached = {
        ...parsed,
        keyIndex: result.keyIndex,
        plaintext: result.plaintext,
        plaintextBytes: Buffer.byteLength(result.plaintext),
      };
      if (this.#openedCache.size >= OPENED_CACHE_SIZE) {
        this.#openedCache.delete(this.#openedCache.keys().next().value as string);
      }
      this.#openedCache.set(value, cached);
    }
    // Session copies the data before its first change, so flat data can be shared. Nested
    // values are parsed anew, so a handler mutating one cannot affect the next request.
    const data = cached.flatData ?? (parsePayload(cached.plaintext) as ParsedPayload).data;
    return {
      data,
      createdAt: cached.createdAt,
      lastSeenAt: cached.lastSeenAt,
      id: value,
      storageKey: null,
      reissue: cached.keyIndex > 0,
      dataBytesBound: cached.plaintextBytes,
    };
  }

  async #openRecord(id: string): Promise<OpenedSession | null> {
    if (!SESSION_ID.test(id)) return null;
    for (const [keyIndex, key] of this.#keys.entries()) {
      const storageKey = this.#storageKey(key, id);
      const record = await this.#storeCall(() => (this.#store as SessionStore).load(storageKey));
      if (record !== null) {
        return {
          data: toNullPrototype(record.data),
          createdAt: record.createdAt,
          lastSeenAt: record.lastSeenAt,
          id,
          storageKey,
          reissue: keyIndex > 0,
        };
      }
    }
    return null;
  }

  #expiryReason(opened: OpenedSession, now: number): "max_age" | "idle" | "absolute" | null {
    if (this.#absoluteMs !== undefined && now - opened.createdAt >= this.#absoluteMs) return "absolute";
    if (this.#idleMs !== undefined && now - opened.lastSeenAt >= this.#idleMs) return "idle";
    if (now - opened.lastSeenAt >= this.#maxAgeMs) return "max_age";
    // A last-seen time in the future means a clock change or a forged record; treat it as expired.
    if (opened.lastSeenAt > now + TOUCH_INTERVAL_MS) return "idle";
    return null;
  }

  #storageKey(key: Buffer, id: string): string {
    return createHmac("sha256", key).update(id).digest("base64url");
  }

  /** Runs a store call; a failure becomes a 503, which the error page logs with its cause. */
  async #storeCall<T>(call: () => Promise<T> | undefined): Promise<T> {
    try {
      return (await call()) as T;
    } catch (error) {
      throw new HTTPError(503, "Sessions are unavailable, try again shortly", { cause: error });
    }
  }

  async #commit(session: Session, opened: OpenedSession | null, now: number, response: Response): Promise<Response> {
    const cookieOptions = this.#cookieOptions as CookieOptions;
    const changed = session.isModified || session.isRegenerated;
    const touchDue = opened !== null && now - opened.lastSeenAt >= this.#touchMs;
    // The common case, a request that only read the session, returns before anything else.
    if (!changed && !touchDue && opened?.reissue !== true) return response;

    if (session.isEmpty) {
      if (opened === null || !changed) return response;
      // The session was emptied: end it on the server and in the browser.
      if (opened.storageKey !== null) await this.#storeCall(() => this.#store?.destroy(opened.storageKey as string));
      return response.withoutCookie(this.#cookieName, cookieOptions);
    }

    const record: SessionRecord = {
      data: session.data,
      createdAt: opened === null || session.isRegenerated ? now : opened.createdAt,
      lastSeenAt: now,
    };

    if (this.#store === undefined) {
      const value = seal(
        this.#keys[0] as Buffer,
        this.#associatedData,
        JSON.stringify({ c: record.createdAt, s: record.lastSeenAt, d: record.data }),
      );
      return this.#withSessionCookie(response, value);
    }

    const store = this.#store;
    const keepId = opened !== null && !session.isRegenerated;
    const id = keepId ? (opened.id as string) : randomBytes(32).toString("base64url");
    const storageKey = this.#storageKey(this.#keys[0] as Buffer, id);
    if (opened?.storageKey != null && opened.storageKey !== storageKey) {
      const oldKey = opened.storageKey;
      await this.#storeCall(() => store.destroy(oldKey));
    }
    await this.#storeCall(() => store.save(storageKey, record, this.#maxAgeSeconds));
    return this.#withSessionCookie(response, id);
  }

  /** Adds the session cookie with `value`, which must be base64url, as sealed values and ids are. */
  #withSessionCookie(response: Response, value: string): Response {
    const setCookie = `${this.#cookieName}=${value}${this.#cookieAttributes}`;
    return Response.trusted(response.status, response.headers, response.body, [...response.cookies, setCookie]);
  }
}

import { parseSetCookie } from "cookie";

interface StoredCookie {
  name: string;
  /** The value exactly as the server sent it, still encoded. */
  value: string;
  domain: string;
  hostOnly: boolean;
  path: string;
  secure: boolean;
  /** Epoch milliseconds, or null for a session cookie. */
  expiresAt: number | null;
}

function keepRaw(value: string): string {
  return value;
}

/** RFC 6265 section 5.1.4: the directory of the request path, "/" at the top. */
function defaultPath(requestPath: string): string {
  if (!requestPath.startsWith("/")) return "/";
  const lastSlash = requestPath.lastIndexOf("/");
  return lastSlash <= 0 ? "/" : requestPath.slice(0, lastSlash);
}

/** RFC 6265 section 5.1.4 path-match. */
function pathMatches(requestPath: string, cookiePath: string): boolean {
  if (requestPath === cookiePath) return true;
  if (!requestPath.startsWith(cookiePath)) return false;
  return cookiePath.endsWith("/") || requestPath[cookiePath.length] === "/";
}

/** RFC 6265 section 5.1.3 domain-match for host names. */
function domainMatches(host: string, domain: string): boolean {
  return host === domain || host.endsWith(`.${domain}`);
}

/**
 * A cookie jar for the test client. It stores cookies from Set-Cookie values, parsed by the
 * cookie package, and returns the Cookie header a browser would send. It honours Domain,
 * Path, Secure, Max-Age (which wins over Expires) and Expires against an injected clock.
 */
export class CookieJar {
  readonly #cookies: StoredCookie[] = [];

  constructor(private readonly now: () => Date) {}

  /** Stores one Set-Cookie value received from `url`; a cookie already expired deletes its match. */
  store(setCookie: string, url: URL): void {
    const parsed = parseSetCookie(setCookie, { decode: keepRaw });
    if (parsed.name === "") return;
    const host = url.hostname;
    let domain = host;
    let hostOnly = true;
    if (parsed.domain !== undefined && parsed.domain !== "") {
      const attribute = parsed.domain.replace(/^\./, "").toLowerCase();
      // A browser ignores a cookie whose Domain does not cover the host that set it.
      if (!domainMatches(host, attribute)) return;
      domain = attribute;
      hostOnly = false;
    }
    // Browsers ignore Secure cookies set over plain http.
    if (parsed.secure === true && url.protocol !== "https:") return;

    const now = this.now().getTime();
    let expiresAt: number | null = null;
    if (parsed.maxAge !== undefined) expiresAt = parsed.maxAge <= 0 ? -Infinity : now + parsed.maxAge * 1000;
    else if (parsed.expires !== undefined) expiresAt = parsed.expires.getTime();

    const path = parsed.path?.startsWith("/") === true ? parsed.path : defaultPath(url.pathname);
    const existing = this.#cookies.findIndex(
      (cookie) => cookie.name === parsed.name && cookie.domain === domain && cookie.path === path,
    );
    if (existing !== -1) this.#cookies.splice(existing, 1);
    if (expiresAt !== null && expiresAt <= now) return;
    this.#cookies.push({
      name: parsed.name,
      value: parsed.value ?? "",
      domain,
      hostOnly,
      path,
      secure: parsed.secure === true,
      expiresAt,
    });
  }

  /** Returns the cookies a browser would send to `url`, longest path first. */
  cookiesFor(url: URL): { name: string; value: string }[] {
    const now = this.now().getTime();
    const host = url.hostname;
    return this.#cookies
      .filter((cookie) => cookie.expiresAt === null || cookie.expiresAt > now)
      .filter((cookie) => (cookie.hostOnly ? cookie.domain === host : domainMatches(host, cookie.domain)))
      .filter((cookie) => pathMatches(url.pathname, cookie.path))
      .filter((cookie) => !cookie.secure || url.protocol === "https:")
      .sort((a, b) => b.path.length - a.path.length)
      .map(({ name, value }) => ({ name, value }));
  }

  /** Returns the Cookie header for `url`, or "" when no cookie applies. */
  headerFor(url: URL): string {
    return this.cookiesFor(url)
      .map(({ name, value }) => `${name}=${value}`)
      .join("; ");
  }

  clear(): void {
    this.#cookies.length = 0;
  }
}

import { errorPage } from "../../app/error-pages.js";
import { ConfigurationError } from "../../app/errors.js";
import { checkOptionKeys } from "../../app/options.js";
import type { Next } from "../../app/types.js";
import type { Request } from "../../http/request.js";
import type { Response } from "../../http/response.js";
import { emitSecurityEvent } from "../../security/audit.js";

/** Options of {@link AllowedHostsMiddleware}. */
export interface AllowedHostsOptions {
  /**
   * Host names the app accepts: `"example.com"` (any port), `"example.com:8443"` (that
   * port only), `".example.com"` (the domain and all its subdomains), `"[::1]"`.
   */
  allowedHosts: readonly string[];
}

interface HostPattern {
  name: string;
  port: string | null;
  subdomains: boolean;
}

// A host name (RFC 1123 labels) or an IPv4 address, or a bracketed IPv6 address, then an optional port.
const HOST =
  /^(?:([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*)|(\[[0-9a-f:.]+\]))(?::(\d{1,5}))?$/;

/** Splits a Host value into a lower-case name, without a trailing dot, and a port; null when malformed. */
export function parseHost(value: string): { name: string; port: string | null } | null {
  const lower = value.trim().toLowerCase();
  const match = HOST.exec(lower.replace(/\.(?=:|$)/, ""));
  if (match === null) return null;
  const name = match[1] ?? match[2] ?? "";
  if (name.length > 253) return null;
  return { name, port: match[3] ?? null };
}

function compilePattern(entry: string): HostPattern {
  if (entry === "*") {
    throw new ConfigurationError(
      'AllowedHostsMiddleware allowedHosts cannot contain "*": leave the middleware out to accept every host',
    );
  }
  const subdomains = entry.startsWith(".");
  const parsed = parseHost(subdomains ? entry.slice(1) : entry);
  if (parsed === null || parsed.name === "") {
    throw new ConfigurationError(
      `AllowedHostsMiddleware allowedHosts entry ${JSON.stringify(entry)} is not a host name such as "example.com" or ".example.com"`,
    );
  }
  return { ...parsed, subdomains };
}

/**
 * Rejects requests whose `Host` header is missing, malformed or not listed, with 400 and a
 * `host.reject` event, before any other middleware or handler runs. Add it first.
 * Absolute links, such as those in password reset emails, should come from the app's
 * configured public origin and never from the `Host` header.
 */
export class AllowedHostsMiddleware {
  readonly middlewareName = "AllowedHostsMiddleware";
  readonly #patterns: readonly HostPattern[];

  constructor(options: AllowedHostsOptions) {
    checkOptionKeys("AllowedHostsMiddleware", options, ["allowedHosts"]);
    const hosts = (options as Partial<AllowedHostsOptions> | undefined)?.allowedHosts;
    if (!Array.isArray(hosts) || hosts.length === 0) {
      throw new ConfigurationError(
        'AllowedHostsMiddleware needs allowedHosts, such as ["example.com", ".example.com"]',
      );
    }
    this.#patterns = hosts.map((entry: unknown) => {
      if (typeof entry !== "string")
        throw new ConfigurationError("AllowedHostsMiddleware allowedHosts entries must be strings");
      return compilePattern(entry);
    });
  }

  handle(req: Request, next: Next): Promise<Response> {
    const header = req.headers.host;
    const host = typeof header === "string" ? parseHost(header) : null;
    if (host === null || !this.#patterns.some((pattern) => matches(pattern, host))) {
      emitSecurityEvent("host.reject", {
        req,
        details: { host: typeof header === "string" ? header.slice(0, 255) : null },
      });
      return Promise.resolve(errorPage(req, 400, "Unknown host."));
    }
    return next();
  }
}

function matches(pattern: HostPattern, host: { name: string; port: string | null }): boolean {
  if (pattern.port !== null && pattern.port !== host.port) return false;
  if (host.name === pattern.name) return true;
  return pattern.subdomains && host.name.endsWith(`.${pattern.name}`);
}

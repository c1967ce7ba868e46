import FindMyWay from "find-my-way";
import { ConfigurationError } from "./errors.js";
import type { Handler } from "./types.js";

/** The handlers of one path pattern, by method. */
export interface RouteEntry {
  readonly pattern: string;
  readonly handlers: Map<string, Handler>;
  /** The `Allow` header value, rebuilt when a method is added. */
  allow: string;
  readonly hasParams: boolean;
}

export interface RouteMatch {
  readonly entry: RouteEntry;
  readonly params: Readonly<Record<string, string>>;
}

const NO_PARAMS: Readonly<Record<string, string>> = Object.freeze(Object.create(null) as Record<string, string>);

export const HTTP_METHODS: readonly string[] = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"];

/**
 * Path routing on find-my-way. Every pattern lives in one method-independent tree and its
 * entry maps methods to handlers, so one lookup distinguishes a 404 from a 405. Trailing and repeated
 * slashes are ignored; matching is case-sensitive.
 */
export class Router {
  readonly #tree = FindMyWay({ ignoreTrailingSlash: true, ignoreDuplicateSlashes: true, caseSensitive: true });
  readonly #entries = new Map<string, RouteEntry>();

  add(pattern: string, methods: readonly string[], handler: Handler): void {
    if (!pattern.startsWith("/")) {
      throw new ConfigurationError(`Route path ${JSON.stringify(pattern)} must start with "/"`);
    }
    if (methods.length === 0) throw new ConfigurationError(`Route ${pattern}: methods must list at least one method`);
    let entry = this.#entries.get(pattern);
    if (entry === undefined) {
      entry = { pattern, handlers: new Map(), allow: "", hasParams: pattern.includes(":") || pattern.includes("*") };
      try {
        this.#tree.on("GET", pattern, () => undefined, entry);
      } catch (error) {
        throw new ConfigurationError(
          `Route ${pattern} is invalid or conflicts with another route: ${(error as Error).message}`,
        );
      }
      this.#entries.set(pattern, entry);
    }
    for (const method of methods) {
      const upper = method.toUpperCase();
      if (!HTTP_METHODS.includes(upper)) {
        throw new ConfigurationError(
          `Route ${pattern}: unsupported method ${method}; use one of ${HTTP_METHODS.join(", ")}`,
        );
      }
      if (entry.handlers.has(upper)) throw new ConfigurationError(`Route ${upper} ${pattern} is defined twice`);
      entry.handlers.set(upper, handler);
    }
    entry.allow = allowedMethods(entry.handlers).join(", ");
  }

  /** Finds the route for a raw (still percent-encoded) path, or null. */
  find(rawPath: string): RouteMatch | null {
    const found = this.#tree.find("GET", rawPath);
    if (found === null) return null;
    const entry = found.store as RouteEntry;
    if (!entry.hasParams) return { entry, params: NO_PARAMS };
    // find-my-way's params object has a class prototype; handlers get a plain null-prototype record.
    const params = Object.assign(Object.create(null) as Record<string, string>, found.params);
    return { entry, params };
  }
}

function allowedMethods(handlers: Map<string, Handler>): string[] {
  const methods = new Set(handlers.keys());
  if (methods.has("GET")) methods.add("HEAD");
  methods.add("OPTIONS");
  return HTTP_METHODS.filter((method) => methods.has(method));
}

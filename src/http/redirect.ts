import { callableClass } from "../app/callable.js";
import { assertHeaderValue } from "./headers.js";

const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308]);

class RedirectResult {
  readonly url: string;
  readonly status: number;

  /**
   * Creates a redirect to `url`, with status 302 unless given. Throws for a URL with CR, LF or other
   * control characters and for a status that is not a redirect. The target is used as given:
   * pass user-supplied targets through `safeRedirect` first.
   */
  constructor(url: string, status = 302) {
    assertHeaderValue("Location", url);
    if (!REDIRECT_STATUSES.has(status)) {
      throw new RangeError(`Redirect status must be 301, 302, 303, 307 or 308, got ${String(status)}`);
    }
    this.url = url;
    this.status = status;
  }
}

/** A handler result that redirects; callable with or without `new`. */
export const Redirect = callableClass(RedirectResult);
export type Redirect = RedirectResult;

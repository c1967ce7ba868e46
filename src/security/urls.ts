import { Redirect } from "../http/redirect.js";

const MAX_URL_LENGTH = 2048;
// Browsers strip tabs and newlines from URLs and treat a backslash as a slash, so any of
// these could turn "/\t/evil.example" or "/\\evil.example" into another origin.
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const FORBIDDEN = /[\u0000-\u0020\u007f-\u009f\\\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000\ufeff]/;
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const DECODED_FORBIDDEN = /[\u0000-\u001f\u007f\\]/;
const BASE = "http://same-origin.invalid";

function decodeRepeatedly(url: string): string | null {
  let current = url;
  // Three rounds cover double and triple encoding; anything still changing after that is rejected.
  for (let round = 0; round < 3; round++) {
    let decoded: string;
    try {
      decoded = decodeURIComponent(current);
    } catch {
      return null;
    }
    if (decoded === current) return current;
    current = decoded;
  }
  return null;
}

/**
 * Returns the URL re-emitted from its parsed path, query and fragment when it is a
 * same-origin relative path, or null for anything a browser could resolve elsewhere:
 * schemes, `//host`, backslashes, userinfo, whitespace and control characters, and the
 * percent-encoded forms of these.
 */
export function normaliseSafeUrl(url: unknown): string | null {
  if (typeof url !== "string" || url.length === 0 || url.length > MAX_URL_LENGTH) return null;
  if (!url.startsWith("/") || url.startsWith("//") || FORBIDDEN.test(url)) return null;

  // The browser keeps "/%2F%2Fevil.example" as a path, but code that decodes the target
  // before redirecting would not, so encoded forms of the same tricks are rejected too.
  // Decoded spaces are fine ("/my%20notes"), decoded slashes at the start, backslashes and
  // control characters are not.
  const decoded = decodeRepeatedly(url.split(/[?#]/, 1)[0] ?? "");
  if (decoded === null || decoded.startsWith("//") || DECODED_FORBIDDEN.test(decoded)) return null;

  let parsed: URL;
  try {
    parsed = new URL(url, BASE);
  } catch {
    return null;
  }
  if (parsed.origin !== BASE || parsed.username !== "" || parsed.password !== "") return null;
  const result = parsed.pathname + parsed.search + parsed.hash;
  return result.startsWith("//") ? null : result;
}

/** True when `url` is a same-origin relative path that is safe to redirect to. */
export function isSafeUrl(url: unknown): boolean {
  return normaliseSafeUrl(url) !== null;
}

/**
 * Redirects to `next` when it is a safe same-origin path, and to `fallback` otherwise.
 * Use it for every user-supplied target, such as a `next` query parameter after login.
 * The status defaults to 303, so a redirect after a form POST is followed with GET.
 */
export function safeRedirect(next: unknown, fallback = "/", status = 303): Redirect {
  return Redirect(normaliseSafeUrl(next) ?? fallback, status);
}

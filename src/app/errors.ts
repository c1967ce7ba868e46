import { STATUS_CODES } from "node:http";

/**
 * The error classes of the framework. Each has a stable `code` for logs and tests and the
 * HTTP status that a request failing with it receives.
 */
export abstract class ChirpError extends Error {
  abstract readonly code: string;
  abstract readonly status: number;
}

/** Options of {@link HTTPError}. */
export interface HTTPErrorOptions {
  /** Extra response headers, for example `Allow` on 405 or `Retry-After` on 429. */
  headers?: Readonly<Record<string, string>>;
  /** The underlying error, kept for logs. */
  cause?: unknown;
}

/**
 * An error that becomes an HTTP error response with `status`. The `detail` is shown to the
 * client, so it must never carry secrets or internal state.
 */
export class HTTPError extends ChirpError {
  readonly code = "CHIRP_HTTP_ERROR";
  readonly status: number;
  readonly detail: string;
  readonly headers: Readonly<Record<string, string>>;

  constructor(status: number, detail?: string, options: HTTPErrorOptions = {}) {
    if (!Number.isInteger(status) || status < 400 || status > 599) {
      throw new RangeError(`HTTPError status must be an integer from 400 to 599, got ${String(status)}`);
    }
    const text = detail ?? statusText(status);
    super(text, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = "HTTPError";
    this.status = status;
    this.detail = text;
    this.headers = options.headers ?? {};
  }
}

/**
 * A mistake in how the application is set up: a bad option, a missing secret, middleware
 * in the wrong order. Raised at start-up with a message that names the option and the fix.
 */
export class ConfigurationError extends ChirpError {
  readonly code = "CHIRP_CONFIGURATION";
  readonly status = 500;

  constructor(message: string) {
    super(message);
    this.name = "ConfigurationError";
  }
}

/** A header name or value that would break the response framing (CR, LF, NUL, bad token). */
export class InvalidHeaderError extends ChirpError {
  readonly code = "CHIRP_INVALID_HEADER";
  readonly status = 500;

  constructor(message: string) {
    super(message);
    this.name = "InvalidHeaderError";
  }
}

/** A cookie that cannot be serialised safely, or breaks the `__Host-`/`__Secure-` prefix rules. */
export class InvalidCookieError extends ChirpError {
  readonly code = "CHIRP_INVALID_COOKIE";
  readonly status = 500;

  constructor(message: string) {
    super(message);
    this.name = "InvalidCookieError";
  }
}

/** Returns the reason phrase Node.js uses for an HTTP status, or "Error" for an unknown one. */
export function statusText(status: number): string {
  return STATUS_CODES[status] ?? "Error";
}

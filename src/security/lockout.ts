import { ConfigurationError } from "../app/errors.js";
import { stderrLogger, type Logger } from "../app/logger.js";
import { checkOptionKeys } from "../app/options.js";
import type { Request } from "../http/request.js";
import { MemoryLockoutBackend, type LockoutBackend, type LockoutRecord, type LockoutRule } from "../stores/lockout.js";
import { emitSecurityEvent } from "./audit.js";
import { normalizeIdentifier } from "./identifiers.js";

/** Options of {@link LoginLockout}. */
export interface LoginLockoutOptions {
  /** Failures within the window that lock the identifier. Default 5. */
  maxFailures?: number;
  /** Window in which failures are counted. Default 900. */
  windowSeconds?: number;
  /** Length of the first lock. Default 300. */
  baseLockSeconds?: number;
  /** Each lock in a row lasts this many times longer than the one before. Default 2. */
  backoffMultiplier?: number;
  /** Cap on the lock length. Default 3600. */
  maxLockSeconds?: number;
  /** Storage for the lockout state. Default: a bounded in-memory backend for this process. */
  backend?: LockoutBackend;
  /**
   * Behaviour when the backend fails: `"closed"` (default) treats the identifier as locked
   * for a minute; `"open"` treats it as not locked. Both log the error.
   */
  failureMode?: "open" | "closed";
  /** Logger for backend errors. Default: JSON lines on stderr. */
  logger?: Logger;
}

/** Whether an identifier is locked, and for how long. */
export interface LockoutStatus {
  locked: boolean;
  /** Whole seconds until the lock ends; 0 when not locked. */
  retryAfterSeconds: number;
  /** Failures counted in the current window. */
  failures: number;
}

const OPTION_KEYS = [
  "maxFailures",
  "windowSeconds",
  "baseLockSeconds",
  "backoffMultiplier",
  "maxLockSeconds",
  "backend",
  "failureMode",
  "logger",
];
const FAILED_CLOSED_SECONDS = 60;

function positive(name: string, value: number | undefined, fallback: number, integer: boolean): number {
  const resolved = value ?? fallback;
  if (
    typeof resolved !== "number" ||
    !Number.isFinite(resolved) ||
    resolved <= 0 ||
    (integer && !Number.isInteger(resolved))
  ) {
    throw new ConfigurationError(
      `LoginLockout ${name} must be a positive ${integer ? "integer" : "number"}, got ${String(value)}`,
    );
  }
  return resolved;
}

function toStatus(record: LockoutRecord): LockoutStatus {
  const locked = record.lockedForMs > 0;
  return { locked, retryAfterSeconds: locked ? Math.ceil(record.lockedForMs / 1000) : 0, failures: record.failures };
}

/**
 * Locks an identifier, such as a username, after repeated failed logins, with a lock that
 * grows for each lock in a row up to `maxLockSeconds`. Identifiers are normalised with
 * `normalizeIdentifier`, so case, surrounding whitespace and full-width variants share one
 * count. Locking an account lets others block it, so pair it with per-client rate limits.
 */
export class LoginLockout {
  readonly #rule: LockoutRule;
  readonly #backend: LockoutBackend;
  readonly #failureMode: "open" | "closed";
  readonly #logger: Logger;

  constructor(options: LoginLockoutOptions = {}) {
    checkOptionKeys("LoginLockout", options, OPTION_KEYS);
    this.#rule = {
      maxFailures: positive("maxFailures", options.maxFailures, 5, true),
      windowMs: positive("windowSeconds", options.windowSeconds, 900, false) * 1000,
      baseLockMs: positive("baseLockSeconds", options.baseLockSeconds, 300, false) * 1000,
      backoffMultiplier: positive("backoffMultiplier", options.backoffMultiplier, 2, false),
      maxLockMs: positive("maxLockSeconds", options.maxLockSeconds, 3600, false) * 1000,
    };
    if (this.#rule.backoffMultiplier < 1) {
      throw new ConfigurationError(
        `LoginLockout backoffMultiplier must be at least 1, got ${String(options.backoffMultiplier)}`,
      );
    }
    if (this.#rule.maxLockMs < this.#rule.baseLockMs) {
      throw new ConfigurationError("LoginLockout maxLockSeconds must be at least baseLockSeconds");
    }
    const failureMode = (options.failureMode ?? "closed") as string;
    if (failureMode !== "open" && failureMode !== "closed") {
      throw new ConfigurationError(
        `LoginLockout failureMode must be "open" or "closed", got ${JSON.stringify(failureMode)}`,
      );
    }
    this.#failureMode = failureMode;
    this.#backend = options.backend ?? new MemoryLockoutBackend();
    this.#logger = options.logger ?? stderrLogger;
  }

  /** True while the identifier is locked. */
  async isLocked(identifier: string): Promise<boolean> {
    return (await this.status(identifier)).locked;
  }

  /** Returns whether the identifier is locked, for how long, and its failures so far. */
  async status(identifier: string): Promise<LockoutStatus> {
    try {
      return toStatus(await this.#backend.status(normalizeIdentifier(identifier), this.#rule));
    } catch (error) {
      return this.#failed(error, "status");
    }
  }

  /** Counts a failed login; emits `auth.lockout.locked` when this failure starts a lock. */
  async recordFailure(identifier: string, req?: Request): Promise<LockoutStatus> {
    const key = normalizeIdentifier(identifier);
    let record: LockoutRecord;
    try {
      record = await this.#backend.recordFailure(key, this.#rule);
    } catch (error) {
      return this.#failed(error, "recordFailure");
    }
    if (record.lockStarted) {
      emitSecurityEvent("auth.lockout.locked", {
        ...(req === undefined ? {} : { req }),
        details: { identifier: key, lockSeconds: Math.ceil(record.lockedForMs / 1000), lockCount: record.lockCount },
      });
    }
    return toStatus(record);
  }

  /** Clears the failures and the backoff after a successful login. */
  async recordSuccess(identifier: string): Promise<void> {
    try {
      await this.#backend.reset(normalizeIdentifier(identifier));
    } catch (error) {
      this.#logger.error({ err: error, operation: "recordSuccess" }, "Lockout backend failed");
    }
  }

  #failed(error: unknown, operation: string): LockoutStatus {
    this.#logger.error({ err: error, operation, failureMode: this.#failureMode }, "Lockout backend failed");
    return this.#failureMode === "closed"
      ? { locked: true, retryAfterSeconds: FAILED_CLOSED_SECONDS, failures: 0 }
      : { locked: false, retryAfterSeconds: 0, failures: 0 };
  }
}

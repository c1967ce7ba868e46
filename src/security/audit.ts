import { stderrLogger, type Logger } from "../app/logger.js";
import type { Request } from "../http/request.js";
import type { SecurityEventName } from "./events.js";

/** One security event, as a sink receives it. */
export interface SecurityEvent {
  readonly name: SecurityEventName;
  /** ISO 8601 time of the event. */
  readonly timestamp: string;
  readonly path: string | null;
  readonly method: string | null;
  /** Client address, resolved as `req.ip` resolves it. */
  readonly ip: string | null;
  readonly userId: string | null;
  /** Ties together the events of one request. */
  readonly requestId: string | null;
  /** Event-specific facts; never passwords, tokens, session ids or cookie values. */
  readonly details: Readonly<Record<string, unknown>>;
}

/** Receives every security event. Errors it throws or rejects with are caught and logged. */
export type SecurityEventSink = (event: SecurityEvent) => void | Promise<void>;

/** Fields of a security event that the caller of `emitSecurityEvent` provides. */
export interface SecurityEventInit {
  req?: Request;
  userId?: string | null;
  details?: Record<string, unknown>;
}

const ERROR_LOG_INTERVAL_MS = 60_000;

let sink: SecurityEventSink | null = null;
let lastErrorLog = -Infinity;
let suppressedErrors = 0;

/** Sets the process-wide sink; null turns events off. Returns the previous sink. */
export function setSecurityEventSink(next: SecurityEventSink | null): SecurityEventSink | null {
  const previous = sink;
  sink = next;
  return previous;
}

/** Logs a sink failure at most once a minute, with the number of failures left out since. */
function reportSinkError(logger: Logger, error: unknown, name: SecurityEventName): void {
  const now = Date.now();
  if (now - lastErrorLog < ERROR_LOG_INTERVAL_MS) {
    suppressedErrors += 1;
    return;
  }
  logger.error({ err: error, event: name, suppressed: suppressedErrors }, "Security event sink failed");
  lastErrorLog = now;
  suppressedErrors = 0;
}

/** @internal Lets tests see every sink failure again. */
export function resetSinkErrorLogForTests(): void {
  lastErrorLog = -Infinity;
  suppressedErrors = 0;
}

/**
 * Emits a security event to the sink, if one is set. A sink that throws or rejects never
 * breaks or delays the request: the error is logged, at most once a minute.
 */
export function emitSecurityEvent(name: SecurityEventName, init: SecurityEventInit = {}): void {
  const current = sink;
  if (current === null) return;
  const req = init.req;
  const event: SecurityEvent = {
    name,
    timestamp: new Date().toISOString(),
    path: req?.path ?? null,
    method: req?.method ?? null,
    ip: req?.ip ?? null,
    userId: init.userId ?? null,
    requestId: req?.id ?? null,
    details: init.details ?? {},
  };
  const logger = req?.logger ?? stderrLogger;
  try {
    const result = current(event);
    if (result instanceof Promise) {
      result.catch((error: unknown) => {
        reportSinkError(logger, error, name);
      });
    }
  } catch (error) {
    reportSinkError(logger, error, name);
  }
}

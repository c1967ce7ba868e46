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

let sink: SecurityEventSink | null = null;

/** Sets the process-wide sink; null turns events off. Returns the previous sink. */
export function setSecurityEventSink(next: SecurityEventSink | null): SecurityEventSink | null {
  const previous = sink;
  sink = next;
  return previous;
}

/**
 * Emits a security event to the sink, if one is set. A sink that throws or rejects never
 * breaks the request: the error is logged through the request's logger when there is one.
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
    details: init.details ?? {},
  };
  function reportSinkError(error: unknown): void {
    req?.logger.error({ err: error, event: name }, "Security event sink failed");
  }
  try {
    const result = current(event);
    if (result instanceof Promise) result.catch(reportSinkError);
  } catch (error) {
    reportSinkError(error);
  }
}

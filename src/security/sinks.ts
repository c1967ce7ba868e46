import type { Writable } from "node:stream";
import type { SecurityEvent, SecurityEventSink } from "./audit.js";

/**
 * Returns a sink that writes each event as one JSON line to `stream`, with the fields in a
 * fixed order: name, timestamp, path, method, ip, userId, requestId, details.
 */
export function jsonLinesSink(stream: Writable): SecurityEventSink {
  return function writeJsonLine(event) {
    const line = {
      name: event.name,
      timestamp: event.timestamp,
      path: event.path,
      method: event.method,
      ip: event.ip,
      userId: event.userId,
      requestId: event.requestId,
      details: event.details,
    };
    stream.write(`${JSON.stringify(line)}\n`);
  };
}

/** The part of a pino logger that {@link pinoSink} uses. */
export interface PinoLike {
  warn(fields: Record<string, unknown>, message: string): void;
}

/** Returns a sink that logs each event as a pino warning, with the event under `securityEvent`. */
export function pinoSink(logger: PinoLike): SecurityEventSink {
  return function logToPino(event: SecurityEvent) {
    logger.warn({ securityEvent: event }, event.name);
  };
}

/**
 * Returns a sink that passes each event to every sink in turn. One sink failing does not
 * keep the event from the others; the first error is rethrown afterwards, to be logged.
 */
export function combineSinks(...sinks: SecurityEventSink[]): SecurityEventSink {
  return function sendToEach(event) {
    let failure: unknown = null;
    const pending: Promise<void>[] = [];
    for (const sink of sinks) {
      try {
        const result = sink(event);
        if (result instanceof Promise) pending.push(result);
      } catch (error) {
        failure ??= error;
      }
    }
    if (failure !== null) {
      throw failure instanceof Error ? failure : new Error("A security event sink failed", { cause: failure });
    }
    if (pending.length > 0) return Promise.all(pending).then(() => undefined);
    return undefined;
  };
}

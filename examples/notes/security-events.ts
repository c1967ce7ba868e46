import type { Writable } from "node:stream";
import type { Logger } from "../../src/index.js";
import {
  combineSinks,
  jsonLinesSink,
  SecurityEventCounters,
  SecurityEventMonitor,
  type SecurityEventSink,
} from "../../src/security/index.js";

/** Options of the app's security event log, spike monitor and counters. */
export interface SecurityEventsOptions {
  /** Stream the events are written to, one JSON object per line. Default `process.stdout`. */
  log?: Writable;
  /** Sliding window of the spike monitor, in seconds. Default 300. */
  windowSeconds?: number;
  /** Events per window that make the monitor warn, by event name or `prefix.*`. Default {@link DEFAULT_THRESHOLDS}. */
  thresholds?: Readonly<Record<string, number>>;
  /** Clock of the spike monitor in epoch milliseconds, for tests. Default `Date.now`. */
  clock?: () => number;
}

/**
 * Spike thresholds per window for invalid bearer tokens, CSRF rejections and denied
 * permissions, the values of the example in docs/audit.md. They are starting points, not
 * measured on real traffic, so tune them against the counters.
 */
export const DEFAULT_THRESHOLDS: Readonly<Record<string, number>> = {
  "auth.token.invalid": 50,
  "csrf.reject.*": 20,
  "authz.permission.denied": 20,
};

/** The sink to install with `setSecurityEventSink`, and the counters it feeds. */
export interface SecurityEvents {
  readonly sink: SecurityEventSink;
  readonly counters: SecurityEventCounters;
}

/**
 * Builds the sink that writes every security event as a JSON line, feeds the spike monitor,
 * which warns through `logger` once per spike, and counts events for `/admin/metrics`.
 */
export function createSecurityEvents(logger: Logger, options: SecurityEventsOptions = {}): SecurityEvents {
  const counters = new SecurityEventCounters();
  const monitor = new SecurityEventMonitor({
    windowSeconds: options.windowSeconds ?? 300,
    thresholds: options.thresholds ?? DEFAULT_THRESHOLDS,
    onAlert: (alert) => {
      logger.warn(
        {
          pattern: alert.pattern,
          count: alert.count,
          threshold: alert.threshold,
          windowSeconds: alert.windowSeconds,
          event: alert.event,
        },
        `Spike of ${alert.pattern} security events: ${String(alert.count)} in ${String(alert.windowSeconds)} s`,
      );
    },
    ...(options.clock === undefined ? {} : { clock: options.clock }),
  });
  const sink = combineSinks(jsonLinesSink(options.log ?? process.stdout), monitor.record, counters.record);
  return { sink, counters };
}

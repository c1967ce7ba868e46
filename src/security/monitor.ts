import { ConfigurationError } from "../app/errors.js";
import { checkOptionKeys } from "../app/options.js";
import type { SecurityEvent } from "./audit.js";
import { SECURITY_EVENT_NAMES, type SecurityEventName } from "./events.js";

/** The alert {@link SecurityEventMonitor} reports when a pattern reaches its threshold. */
export interface SecurityAlert {
  /** The threshold's pattern, such as `"csrf.reject.*"`. */
  pattern: string;
  /** Events matching the pattern within the window when the alert fired. */
  count: number;
  threshold: number;
  windowSeconds: number;
  /** The event that crossed the threshold. */
  event: SecurityEvent;
}

/** Options of {@link SecurityEventMonitor}. */
export interface SecurityEventMonitorOptions {
  /** Length of the sliding window. */
  windowSeconds: number;
  /** Events within the window that raise an alert, by event name or `prefix.*` pattern. */
  thresholds: Readonly<Record<string, number>>;
  /** Called once per spike; errors it throws are caught by the event sink. */
  onAlert: (alert: SecurityAlert) => void;
  /** Clock in epoch milliseconds, for tests. Default `Date.now`. */
  clock?: () => number;
}

interface Watch {
  pattern: string;
  threshold: number;
  matches: (name: string) => boolean;
  /** Times of matching events still inside the window, oldest first. */
  times: number[];
  alerting: boolean;
}

function compilePattern(pattern: string): (name: string) => boolean {
  if (pattern.endsWith(".*")) {
    const prefix = pattern.slice(0, -1);
    if (!SECURITY_EVENT_NAMES.some((name) => name.startsWith(prefix))) {
      throw new ConfigurationError(`SecurityEventMonitor pattern ${JSON.stringify(pattern)} matches no event`);
    }
    return (name) => name.startsWith(prefix);
  }
  if (!SECURITY_EVENT_NAMES.includes(pattern as SecurityEventName)) {
    throw new ConfigurationError(`SecurityEventMonitor threshold for unknown event ${JSON.stringify(pattern)}`);
  }
  return (name) => name === pattern;
}

/**
 * Counts events in a sliding window and calls `onAlert` once when a pattern's count reaches
 * its threshold. The pattern alerts again only after its count has fallen below the
 * threshold, so a sustained attack gives one alert, not one per event. Use `record` as a
 * sink, alone or through `combineSinks`.
 */
export class SecurityEventMonitor {
  readonly #windowMs: number;
  readonly #watches: Watch[];
  readonly #onAlert: (alert: SecurityAlert) => void;
  readonly #clock: () => number;

  constructor(options: SecurityEventMonitorOptions) {
    checkOptionKeys("SecurityEventMonitor", options, ["windowSeconds", "thresholds", "onAlert", "clock"]);
    if (!Number.isFinite(options.windowSeconds) || options.windowSeconds <= 0) {
      throw new ConfigurationError(
        `SecurityEventMonitor windowSeconds must be a positive number, got ${String(options.windowSeconds)}`,
      );
    }
    if (typeof options.onAlert !== "function")
      throw new ConfigurationError("SecurityEventMonitor needs an onAlert function");
    this.#windowMs = options.windowSeconds * 1000;
    this.#watches = Object.entries(options.thresholds).map(([pattern, threshold]) => {
      if (!Number.isSafeInteger(threshold) || threshold < 1) {
        throw new ConfigurationError(
          `SecurityEventMonitor threshold for ${pattern} must be a positive integer, got ${String(threshold)}`,
        );
      }
      return { pattern, threshold, matches: compilePattern(pattern), times: [], alerting: false };
    });
    this.#onAlert = options.onAlert;
    this.#clock = options.clock ?? Date.now;
  }

  /** The sink: counts the event and alerts when a threshold is reached. */
  readonly record = (event: SecurityEvent): void => {
    const now = this.#clock();
    for (const watch of this.#watches) {
      this.#expire(watch, now);
      if (!watch.matches(event.name)) continue;
      watch.times.push(now);
      if (watch.times.length >= watch.threshold && !watch.alerting) {
        watch.alerting = true;
        this.#onAlert({
          pattern: watch.pattern,
          count: watch.times.length,
          threshold: watch.threshold,
          windowSeconds: this.#windowMs / 1000,
          event,
        });
      }
    }
  };

  #expire(watch: Watch, now: number): void {
    let expired = 0;
    while (expired < watch.times.length && (watch.times[expired] as number) <= now - this.#windowMs) expired += 1;
    if (expired > 0) watch.times.splice(0, expired);
    if (watch.alerting && watch.times.length < watch.threshold) watch.alerting = false;
  }
}

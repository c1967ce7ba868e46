import type { SecurityEvent } from "./audit.js";
import { SECURITY_EVENT_NAMES, type SecurityEventName } from "./events.js";

/**
 * Counts security events by name since the process started, for scraping. `record` is a
 * sink; `prometheusText()` renders the counters in the Prometheus text exposition format.
 */
export class SecurityEventCounters {
  readonly #counts = new Map<SecurityEventName, number>(SECURITY_EVENT_NAMES.map((name) => [name, 0]));

  readonly record = (event: SecurityEvent): void => {
    this.#counts.set(event.name, (this.#counts.get(event.name) ?? 0) + 1);
  };

  /** Returns the count of every event name, zero ones included. */
  snapshot(): Record<SecurityEventName, number> {
    return Object.fromEntries(this.#counts) as Record<SecurityEventName, number>;
  }

  /** Renders `chirp_security_events_total{event="…"}` counters with HELP and TYPE lines. */
  prometheusText(): string {
    const lines = [
      "# HELP chirp_security_events_total Security events emitted by bengal-chirp, by event name.",
      "# TYPE chirp_security_events_total counter",
    ];
    for (const [name, count] of this.#counts)
      lines.push(`chirp_security_events_total{event="${name}"} ${String(count)}`);
    return `${lines.join("\n")}\n`;
  }
}

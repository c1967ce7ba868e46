/** A message the app would send by email. */
export interface OutboxMessage {
  readonly to: string;
  readonly subject: string;
  readonly text: string;
  /** The link in the text, which the outbox page makes clickable. */
  readonly link?: string;
  /** When the message was queued, as an ISO 8601 string in UTC. */
  readonly sentAt: string;
}

/** Default of {@link Outbox}'s `maxMessages`. */
export const DEFAULT_OUTBOX_SIZE = 50;

/**
 * An in-memory stand-in for sending email in development and tests: it keeps the newest
 * `maxMessages` messages and drops older ones, so a flood of reset requests cannot exhaust
 * memory. The messages are lost when the process exits.
 *
 * TODO: a production deployment needs a real mail transport here. Until then, reset links
 * reach nobody in production.
 */
export class Outbox {
  readonly #maxMessages: number;
  readonly #messages: OutboxMessage[] = [];

  constructor(maxMessages = DEFAULT_OUTBOX_SIZE) {
    if (!Number.isSafeInteger(maxMessages) || maxMessages < 1) {
      throw new RangeError(`Invalid outbox size ${String(maxMessages)}: use a positive integer`);
    }
    this.#maxMessages = maxMessages;
  }

  /** Queues a message, dropping the oldest one when the outbox is full. */
  send(message: OutboxMessage): void {
    this.#messages.push(message);
    if (this.#messages.length > this.#maxMessages) this.#messages.shift();
  }

  /** Returns the queued messages, newest first. */
  messages(): OutboxMessage[] {
    return this.#messages.toReversed();
  }
}

/**
 * The diagnostics logger the app writes to. Its shape matches pino's, so a pino logger can
 * be passed as it is: an object of fields first, then a message.
 */
export interface Logger {
  error(fields: Record<string, unknown>, message: string): void;
  warn(fields: Record<string, unknown>, message: string): void;
  info(fields: Record<string, unknown>, message: string): void;
}

function serialiseError(value: unknown, depth = 0): unknown {
  if (!(value instanceof Error)) return value;
  const serialised: Record<string, unknown> = { type: value.name, message: value.message, stack: value.stack };
  if (value.cause !== undefined && depth < 3) serialised.cause = serialiseError(value.cause, depth + 1);
  return serialised;
}

function writeLine(level: string, fields: Record<string, unknown>, message: string): void {
  const record: Record<string, unknown> = { level, time: new Date().toISOString(), msg: message };
  for (const [key, value] of Object.entries(fields)) record[key] = serialiseError(value);
  process.stderr.write(`${JSON.stringify(record)}\n`);
}

/**
 * The default logger: warnings and errors as JSON lines on stderr, info discarded, so the
 * framework stays quiet unless something needs attention.
 */
export const stderrLogger: Logger = {
  error(fields, message) {
    writeLine("error", fields, message);
  },
  warn(fields, message) {
    writeLine("warn", fields, message);
  },
  info() {
    // Discarded by default: pass a logger such as pino to keep info lines.
  },
};

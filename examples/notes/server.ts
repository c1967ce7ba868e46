/**
 * Starts the notes app: `npm start`, or `tsx examples/notes/server.ts`.
 *
 * Environment: PORT (default 8000), HOST (default 127.0.0.1, reachable from this machine
 * only), NOTES_DATABASE (default examples/notes/data/notes.sqlite3), CHIRP_SECRET_KEY,
 * NOTES_DEMO_PASSWORD, NOTES_ALLOWED_HOSTS and NOTES_PUBLIC_ORIGIN. Without CHIRP_SECRET_KEY,
 * development mode uses a random key that lasts until the process exits; other modes refuse
 * to start.
 *
 * NOTES_ALLOWED_HOSTS lists the host names the app accepts requests for, separated by
 * commas, such as `notes.example.com,localhost`. It defaults to localhost, 127.0.0.1 and
 * [::1]. When HOST makes the server reachable under another name, list that name too,
 * because requests for other hosts get 400.
 *
 * NOTES_PUBLIC_ORIGIN is the origin that links in mail start with, such as password reset
 * links (default http://127.0.0.1:8000). Set it when PORT, HOST or a proxy in front change
 * the address users reach the app under. In development, /outbox lists the mail.
 *
 * Security events go to stdout as JSON lines, one per event, and a spike of CSRF rejections,
 * invalid tokens or denied permissions logs a warning on stderr. Admins can read the counters
 * at /admin/metrics.
 *
 * The first start on a new database creates the demo accounts alice@example.com and
 * admin@example.com with NOTES_DEMO_PASSWORD, or a random password, which development mode
 * prints. Delete the database file to create them again.
 */
import { randomBytes } from "node:crypto";
import type { AddressInfo } from "node:net";
import { fileURLToPath } from "node:url";
import type { Logger } from "../../src/index.js";
import { createNotesApp, type NotesApp } from "./app.js";
import { DEMO_EMAILS } from "./demo.js";

function parsePort(value: string): number {
  const port = Number(value);
  if (!/^[0-9]+$/.test(value) || port > 65535) {
    throw new Error(`Invalid PORT ${JSON.stringify(value)}: use an integer from 0 to 65535 (0 picks a free port)`);
  }
  return port;
}

function formatUrl(address: AddressInfo): string {
  const host = address.family === "IPv6" ? `[${address.address}]` : address.address;
  return `http://${host}:${String(address.port)}`;
}

/** Serialises an Error in a log field, whose own properties JSON.stringify would leave out. */
function errorReplacer(_key: string, value: unknown): unknown {
  return value instanceof Error ? { type: value.name, message: value.message, stack: value.stack } : value;
}

/**
 * Returns a logger that writes every level as JSON lines on stderr. The framework's default
 * logger discards info lines, but in development they show the password reset links that
 * the app would mail.
 */
function developmentLogger(): Logger {
  function write(level: string, fields: Record<string, unknown>, message: string): void {
    const record = { level, time: new Date().toISOString(), msg: message, ...fields };
    process.stderr.write(`${JSON.stringify(record, errorReplacer)}\n`);
  }
  return {
    error(fields, message) {
      write("error", fields, message);
    },
    warn(fields, message) {
      write("warn", fields, message);
    },
    info(fields, message) {
      write("info", fields, message);
    },
  };
}

/** Closes the app on SIGINT and SIGTERM. A second signal exits without waiting for in-flight requests. */
function closeOnSignals(notes: NotesApp): void {
  let closing = false;

  async function shutdown(signal: NodeJS.Signals): Promise<void> {
    if (closing) {
      console.log(`Received ${signal} again, exiting without waiting for in-flight requests`);
      process.exit(1);
    }
    closing = true;
    console.log(`Received ${signal}, closing the server and the database`);
    try {
      await notes.close();
    } catch (error) {
      notes.app.logger.error({ err: error }, "Closing the notes app failed");
      process.exitCode = 1;
    }
  }

  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    process.on(signal, (received) => void shutdown(received));
  }
}

/** Prints how to log in to the demo accounts. Development only: the line contains a password. */
function printDemoAccounts(notes: NotesApp): void {
  const emails = DEMO_EMAILS.join(", ");
  if (notes.demoAccounts === null) {
    console.log(`Demo accounts: ${emails}, with the password printed on the first start of this database`);
  } else {
    console.log(`Demo accounts: ${notes.demoAccounts.emails.join(", ")}, password: ${notes.demoAccounts.password}`);
  }
}

async function main(): Promise<void> {
  const port = parsePort(process.env.PORT ?? "8000");
  const host = process.env.HOST ?? "127.0.0.1";
  const databasePath = process.env.NOTES_DATABASE ?? fileURLToPath(new URL("./data/notes.sqlite3", import.meta.url));

  const demoPassword = process.env.NOTES_DEMO_PASSWORD || undefined;
  const publicOrigin = process.env.NOTES_PUBLIC_ORIGIN || undefined;
  let secretKey: string | undefined;
  const env = process.env.CHIRP_ENV || process.env.NODE_ENV || "development";
  if (!process.env.CHIRP_SECRET_KEY && env === "development") {
    secretKey = randomBytes(48).toString("base64url");
    console.warn("CHIRP_SECRET_KEY is not set: using a random key, so sessions end when the server stops");
  }

  const notes = await createNotesApp({
    databasePath,
    ...(secretKey === undefined ? {} : { secretKey }),
    ...(demoPassword === undefined ? {} : { demoPassword }),
    ...(publicOrigin === undefined ? {} : { publicOrigin }),
    ...(env === "development" ? { logger: developmentLogger() } : {}),
    installSecurityEventSink: true,
  });
  let address: AddressInfo;
  try {
    const server = await notes.app.listen({ port, host });
    address = server.address() as AddressInfo;
  } catch (error) {
    await notes.close();
    throw error;
  }

  closeOnSignals(notes);
  console.log(`Notes app listening on ${formatUrl(address)} (database: ${databasePath})`);
  if (notes.app.env === "development") printDemoAccounts(notes);
}

main().catch((error: unknown) => {
  console.error(`Could not start the notes app: ${error instanceof Error ? error.message : String(error)}`);
  process.exitCode = 1;
});

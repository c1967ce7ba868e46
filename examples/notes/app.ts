import { fileURLToPath } from "node:url";
import { App, ConfigurationError } from "../../src/index.js";
import type { Env, Logger } from "../../src/index.js";
import { AuthMiddleware, SessionMiddleware } from "../../src/middleware/index.js";
import { loadAssets } from "./assets.js";
import { openDatabase } from "./database.js";
import { createDemoAccounts, randomDemoPassword, type DemoAccounts } from "./demo.js";
import { DEFAULT_SCRYPT_LOG_N, MAX_SCRYPT_LOG_N } from "./passwords.js";
import { addAuthRoutes } from "./routes/auth.js";
import { addNoteRoutes } from "./routes/notes.js";
import { addPageRoutes } from "./routes/pages.js";
import { NoteStore } from "./store.js";
import { MAX_PASSWORD_LENGTH, UserStore, type NotesUser } from "./users.js";

export { NOTES_PER_PAGE } from "./routes/notes.js";

/** Options of {@link createNotesApp}. */
export interface NotesAppOptions {
  /** SQLite database file, created with its folder on first start, or `":memory:"`. */
  databasePath: string;
  /** Default: `CHIRP_ENV`, then `NODE_ENV`, then `"development"`. */
  env?: Env;
  /** Diagnostics logger, pino-compatible. Default: the framework's stderr logger. */
  logger?: Logger;
  /** Clock for the creation time of notes. Default `() => new Date()`. */
  now?: () => Date;
  /** Secret key for sessions, at least 32 bytes. Default: `CHIRP_SECRET_KEY`. */
  secretKey?: string;
  /**
   * Password of the demo accounts that the first start creates (see `demoAccounts`).
   * Default: a random 16-character password.
   */
  demoPassword?: string;
  /**
   * log2 of the scrypt cost N for new password hashes. Default 16. Tests lower it so that
   * hashing takes milliseconds; a lower value in production makes stolen hashes cheaper to crack.
   */
  scryptLogN?: number;
}

/** The configured app and the resources it owns. */
export interface NotesApp {
  readonly app: App;
  readonly store: NoteStore;
  readonly users: UserStore;
  /** The demo accounts this start created, or null when the database had users already. */
  readonly demoAccounts: DemoAccounts | null;
  /** Stops the server, if it listens, once in-flight requests finish, and then closes the database. */
  close(): Promise<void>;
}

const TEMPLATES = fileURLToPath(new URL("./templates", import.meta.url));

/** Formats an ISO 8601 UTC timestamp to the minute, such as `2025-01-31 09:30 UTC`. */
function formatUtcMinute(value: string): string {
  return `${value.slice(0, 16).replace("T", " ")} UTC`;
}

/** Throws a ConfigurationError naming the option when a password option is out of range. */
function checkPasswordOptions(demoPassword: string, scryptLogN: number): void {
  if (typeof demoPassword !== "string" || demoPassword === "" || demoPassword.length > MAX_PASSWORD_LENGTH) {
    throw new ConfigurationError(
      `Invalid demoPassword: use a non-empty string of at most ${String(MAX_PASSWORD_LENGTH)} characters`,
    );
  }
  if (!Number.isInteger(scryptLogN) || scryptLogN < 1 || scryptLogN > MAX_SCRYPT_LOG_N) {
    throw new ConfigurationError(
      `Invalid scryptLogN ${String(scryptLogN)}: use an integer from 1 to ${String(MAX_SCRYPT_LOG_N)}, ` +
        `or leave it out for the default ${String(DEFAULT_SCRYPT_LOG_N)}`,
    );
  }
}

/**
 * Creates the notes app on a SQLite database. Pass `":memory:"` for a private database
 * that disappears on close, as the tests do. On a database without users it creates the
 * demo accounts first, which takes a few scrypt hashes, hence the promise.
 */
export async function createNotesApp(options: NotesAppOptions): Promise<NotesApp> {
  const demoPassword = options.demoPassword ?? randomDemoPassword();
  const scryptLogN = options.scryptLogN ?? DEFAULT_SCRYPT_LOG_N;
  checkPasswordOptions(demoPassword, scryptLogN);
  const assets = loadAssets();
  const app = new App({ templates: TEMPLATES, env: options.env, logger: options.logger });
  app.addTemplateFilter("utc_minute", formatUtcMinute);
  // Built before the database opens, so a missing or short secret key stops start-up without a file to close.
  app.addMiddleware(new SessionMiddleware(options.secretKey === undefined ? {} : { secretKey: options.secretKey }));

  const db = openDatabase(options.databasePath, app.logger);
  let users: UserStore;
  let demoAccounts: DemoAccounts | null;
  try {
    users = await UserStore.open(db, scryptLogN);
    demoAccounts = await createDemoAccounts(users, demoPassword);
  } catch (error) {
    db.close();
    throw error;
  }
  const store = new NoteStore(db, options.now);

  app.addMiddleware(
    new AuthMiddleware<NotesUser>({
      loadUser: (id) => users.findById(id),
      sessionVersion: (user) => user.sessionVersion,
      // Static files look the same for everyone, so they skip the user lookup.
      excludePaths: ["/static"],
    }),
  );

  addPageRoutes(app, store, users);
  addAuthRoutes(app, users);
  addNoteRoutes(app, store);
  for (const [path, response] of assets) app.get(path, () => response);

  return {
    app,
    store,
    users,
    demoAccounts,
    async close() {
      try {
        await app.close();
      } finally {
        db.close();
      }
    },
  };
}

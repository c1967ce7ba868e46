import { fileURLToPath } from "node:url";
import { App, ConfigurationError } from "../../src/index.js";
import type { Env, Logger } from "../../src/index.js";
import {
  AllowedHostsMiddleware,
  AuthMiddleware,
  AuthRateLimitMiddleware,
  CSRFMiddleware,
  SecurityHeadersMiddleware,
  SessionMiddleware,
  MemorySessionStore,
} from "../../src/middleware/index.js";
import type { AuthRateLimitOptions } from "../../src/middleware/index.js";
import {
  LoginLockout,
  MAX_PASSWORD_LENGTH,
  PasswordResetTokens,
  setSecurityEventSink,
  type LoginLockoutOptions,
} from "../../src/security/index.js";
import { loadAssets } from "./assets.js";
import { openDatabase } from "./database.js";
import { createDemoAccounts, randomDemoPassword, type DemoAccounts } from "./demo.js";
import { addAccountRoutes } from "./routes/account.js";
import { Outbox } from "./outbox.js";
import { addAuthRoutes } from "./routes/auth.js";
import { addNoteRoutes } from "./routes/notes.js";
import { addPageRoutes } from "./routes/pages.js";
import { addPasswordResetRoutes, RESET_TOKEN_MAX_AGE_SECONDS } from "./routes/password-reset.js";
import { createSecurityEvents, type SecurityEvents, type SecurityEventsOptions } from "./security-events.js";
import { NoteStore } from "./store.js";
import { UserStore, type NotesUser, type StoredUser } from "./users.js";

export { NOTES_PER_PAGE } from "./routes/notes.js";

/** Options of {@link createNotesApp}. */
export interface NotesAppOptions {
  /** SQLite database file, created with its folder on first start, or `":memory:"`. */
  databasePath: string;
  /** Default: `CHIRP_ENV`, then `NODE_ENV`, then `"development"`. */
  env?: Env;
  /** Diagnostics logger, pino-compatible. Default: the framework's stderr logger. */
  logger?: Logger;
  /**
   * Clock for the creation time of notes, the time of outbox messages and the expiry of
   * reset tokens. Default `() => new Date()`.
   */
  now?: () => Date;
  /**
   * Scheme, host and port that links in mail start with, such as `https://notes.example.com`,
   * without a path. Default `http://127.0.0.1:8000`, where `npm start` listens.
   */
  publicOrigin?: string;
  /** Secret key for sessions, at least 32 bytes. Default: `CHIRP_SECRET_KEY`. */
  secretKey?: string;
  /**
   * Host names the app accepts requests for, in the entry forms of `AllowedHostsMiddleware`.
   * Requests for any other `Host` get 400. Default: the comma-separated `NOTES_ALLOWED_HOSTS`,
   * else `localhost`, `127.0.0.1` and `[::1]` on any port.
   */
  allowedHosts?: readonly string[];
  /**
   * Password of the demo accounts that the first start creates (see `demoAccounts`).
   * Default: a random 16-character password.
   */
  demoPassword?: string;
  /**
   * Options of the per-email login lockout, which uses the in-memory backend, so counts are
   * per process and start again on restart. Default: LoginLockout's defaults (5 failures in
   * 15 minutes lock the email for 5 minutes, doubling up to an hour).
   */
  lockout?: Omit<LoginLockoutOptions, "backend">;
  /**
   * Options of the per-client rate limit on POST /login, /signup and /password-reset, over
   * AuthRateLimitMiddleware's defaults (10 requests a minute, then blocked for 5 minutes).
   */
  authRateLimit?: AuthRateLimitOptions;
  /** Where security events are logged and when the spike monitor warns. */
  securityEvents?: SecurityEventsOptions;
  /**
   * Installs the app's security event sink as the process-wide sink, and removes it again on
   * `close()`. Default false, because a process can have one sink only and tests create many
   * apps. `server.ts` sets it.
   */
  installSecurityEventSink?: boolean;
}

/** The configured app and the resources it owns. */
export interface NotesApp {
  readonly app: App;
  readonly store: NoteStore;
  readonly users: UserStore;
  /** Mail the app would send, such as reset links. The development page `/outbox` lists it. */
  readonly outbox: Outbox;
  /** The JSON-lines, monitor and counter sink, and the counters that `/admin/metrics` shows. */
  readonly securityEvents: SecurityEvents;
  /** The demo accounts this start created, or null when the database had users already. */
  readonly demoAccounts: DemoAccounts | null;
  /** Stops the server, if it listens, once in-flight requests finish, and then closes the database. */
  close(): Promise<void>;
}

const TEMPLATES = fileURLToPath(new URL("./templates", import.meta.url));

/** Hosts allowed when neither the `allowedHosts` option nor `NOTES_ALLOWED_HOSTS` is set: this machine only. */
export const LOCAL_HOSTS: readonly string[] = ["localhost", "127.0.0.1", "[::1]"];

/** Origin of links in mail when the `publicOrigin` option is not set: where `npm start` listens. */
export const DEFAULT_PUBLIC_ORIGIN = "http://127.0.0.1:8000";

/** Routes whose POSTs AuthRateLimitMiddleware counts per client: the forms that check or set passwords. */
const AUTH_PATHS: readonly string[] = ["/login", "/signup", "/password-reset"];

/** Strict-Transport-Security on HTTPS responses: two years, subdomains included. */
const HSTS = "max-age=63072000; includeSubDomains";

/** Formats an ISO 8601 UTC timestamp to the minute, such as `2025-01-31 09:30 UTC`. */
function formatUtcMinute(value: string): string {
  return `${value.slice(0, 16).replace("T", " ")} UTC`;
}

/** Throws a ConfigurationError naming the option when the demo password cannot be hashed. */
function checkDemoPassword(demoPassword: string): void {
  if (typeof demoPassword !== "string" || demoPassword === "" || demoPassword.length > MAX_PASSWORD_LENGTH) {
    throw new ConfigurationError(
      `Invalid demoPassword: use a non-empty string of at most ${String(MAX_PASSWORD_LENGTH)} characters`,
    );
  }
}

/**
 * Returns the hosts in `NOTES_ALLOWED_HOSTS` (comma-separated, blanks around entries
 * ignored), or {@link LOCAL_HOSTS} when it is unset or blank.
 */
export function allowedHostsFromEnv(value = process.env.NOTES_ALLOWED_HOSTS): readonly string[] {
  if (value === undefined || value.trim() === "") return LOCAL_HOSTS;
  const hosts = value
    .split(",")
    .map((host) => host.trim())
    .filter((host) => host !== "");
  if (hosts.length === 0) {
    throw new ConfigurationError(
      `Invalid NOTES_ALLOWED_HOSTS ${JSON.stringify(value)}: list host names separated by commas, ` +
        'such as "notes.example.com,localhost"',
    );
  }
  return hosts;
}

/** Builds the host check, naming where the hosts came from when one of them is invalid. */
function allowedHostsMiddleware(option: readonly string[] | undefined): AllowedHostsMiddleware {
  const allowedHosts = option ?? allowedHostsFromEnv();
  try {
    return new AllowedHostsMiddleware({ allowedHosts });
  } catch (error) {
    if (!(error instanceof ConfigurationError)) throw error;
    const source = option === undefined ? "NOTES_ALLOWED_HOSTS" : "the allowedHosts option";
    throw new ConfigurationError(`Invalid host in ${source}: ${error.message}`);
  }
}

/**
 * Creates the notes app on a SQLite database. Pass `":memory:"` for a private database
 * that disappears on close, as the tests do. On a database without users it creates the
 * demo accounts first, which takes a few password hashes, hence the promise.
 */
export async function createNotesApp(options: NotesAppOptions): Promise<NotesApp> {
  const demoPassword = options.demoPassword ?? randomDemoPassword();
  checkDemoPassword(demoPassword);
  const assets = loadAssets();
  const app = new App({
    templates: TEMPLATES,
    env: options.env,
    logger: options.logger,
    publicOrigin: options.publicOrigin ?? DEFAULT_PUBLIC_ORIGIN,
  });
  app.addTemplateFilter("utc_minute", formatUtcMinute);

  // Built before the database opens, so an invalid host or a missing or short secret key stops
  // start-up without a file to close. AuthMiddleware needs the user store, so it comes later.
  const allowedHosts = allowedHostsMiddleware(options.allowedHosts);
  const authRateLimit = new AuthRateLimitMiddleware({ paths: AUTH_PATHS, ...options.authRateLimit });
  // Sessions live server-side, so logging out deletes the record and a copied cookie stops
  // working at once. One process keeps them in memory; several would share a RedisSessionStore.
  const sessions = new SessionMiddleware({
    ...(options.secretKey === undefined ? {} : { secretKey: options.secretKey }),
    store: new MemorySessionStore(),
  });
  const lockout = new LoginLockout({ ...options.lockout, logger: options.lockout?.logger ?? app.logger });
  const now = options.now ?? (() => new Date());
  // Each token is bound to the password hash and the session version, so setting a new
  // password, or logging out everywhere, makes every earlier token stop working.
  const resetTokens = new PasswordResetTokens<StoredUser>({
    ...(options.secretKey === undefined ? {} : { secretKey: options.secretKey }),
    maxAgeSeconds: RESET_TOKEN_MAX_AGE_SECONDS,
    userState: (user) => `${user.passwordHash}:${String(user.sessionVersion)}`,
    clock: () => now().getTime(),
  });
  const outbox = new Outbox();
  const securityEvents = createSecurityEvents(app.logger, options.securityEvents);
  const csrf = new CSRFMiddleware();
  // The default policy allows scripts and styles from this origin only, with no 'unsafe-inline'
  // and no 'unsafe-eval'. The pages load htmx, their script and their stylesheet as files, and
  // the htmx-config meta tag in base.html keeps htmx from injecting styles or calling eval.
  const securityHeaders = new SecurityHeadersMiddleware({ cspNonce: true, strictTransportSecurity: HSTS });

  // Order: the host check first, so a request for an unknown host reaches nothing else, then
  // the rate limit on the login, signup and reset forms, which must come before CSRF so that
  // attempts without a valid token count too, then sessions, users and CSRF. CSRFMiddleware
  // must follow AuthMiddleware, which tells it which requests carry a bearer token. Security
  // headers go last and reach every response, early rejections by the middleware before them
  // included.
  app.addMiddleware(allowedHosts);
  app.addMiddleware(authRateLimit);
  app.addMiddleware(sessions);

  const db = openDatabase(options.databasePath, app.logger);
  let users: UserStore;
  let demoAccounts: DemoAccounts | null;
  try {
    users = new UserStore(db);
    demoAccounts = await createDemoAccounts(users, demoPassword);
  } catch (error) {
    db.close();
    throw error;
  }
  const store = new NoteStore(db, now);

  app.addMiddleware(
    new AuthMiddleware<NotesUser>({
      loadUser: (id) => users.findById(id),
      sessionVersion: (user) => user.sessionVersion,
      // Static files look the same for everyone, so they skip the user lookup.
      excludePaths: ["/static"],
    }),
  );
  app.addMiddleware(csrf);
  app.addMiddleware(securityHeaders);

  addPageRoutes(app, store, users, securityEvents.counters);
  addAuthRoutes(app, users, lockout);
  addAccountRoutes(app, users, lockout);
  addPasswordResetRoutes(app, { users, tokens: resetTokens, lockout, outbox, now });
  addNoteRoutes(app, store);
  for (const [path, response] of assets) app.get(path, () => response);

  if (options.installSecurityEventSink === true) setSecurityEventSink(securityEvents.sink);

  return {
    app,
    store,
    users,
    outbox,
    securityEvents,
    demoAccounts,
    async close() {
      try {
        await app.close();
      } finally {
        db.close();
        if (options.installSecurityEventSink === true) setSecurityEventSink(null);
      }
    },
  };
}

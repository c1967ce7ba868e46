/*
 * What every stack of the peer comparison serves. Each stack builds the same app with its own
 * session, CSRF, security header and rate limit libraries, renders the same Nunjucks templates
 * and verifies the same argon2id hash, so the servers differ only in the framework and its
 * security layer.
 */
import nunjucks from "nunjucks";
import { TEMPLATE_DIRECTORY, pageContext, type PageItem } from "../page.js";

/** The stacks compared, with bare node:http as the ceiling. */
export const PEERS = ["bare", "chirp", "fastify", "express", "hono"] as const;

export type Peer = (typeof PEERS)[number];

export function isPeer(value: unknown): value is Peer {
  return PEERS.includes(value as Peer);
}

export const PEER_LABELS: Record<Peer, string> = {
  bare: "node:http",
  chirp: "bengal-chirp",
  fastify: "Fastify",
  express: "Express",
  hono: "Hono",
};

/**
 * The app a peer child serves. `hello` serves `GET /` with "Hello" and nothing else.
 * `hardened` is the app of every other scenario, described in bench/README.md.
 */
export type PeerApp = "hello" | "hardened";

/**
 * Window of the login rate limit of every stack, in seconds. It is longer than a scenario
 * runs, so a limit used up by the checks stays used up for the whole load.
 */
export const LOGIN_WINDOW_SECONDS = 3600;

/** Settings of a peer child, passed as JSON in its third argument. */
export interface PeerSettings {
  /** `POST /login` requests per client in LOGIN_WINDOW_SECONDS before the rate limit returns 429. */
  loginLimit: number;
  /** The argon2id hash of {@link PASSWORD} that `POST /login` verifies. */
  passwordHash: string;
}

export interface BenchUser {
  readonly id: string;
  readonly name: string;
  readonly email: string;
}

/** The one account. Its name needs escaping, so every page render escapes it. */
export const USER: BenchUser = { id: "user-1", name: "Alice <admin>", email: "alice@example.com" };

/** Users by id, which the account page loads the session's user from. */
export const USERS_BY_ID: ReadonlyMap<string, BenchUser> = new Map([[USER.id, USER]]);

/** Users by email address, which `POST /login` looks the account up in. */
export const USERS_BY_EMAIL: ReadonlyMap<string, BenchUser> = new Map([[USER.email, USER]]);

export const PASSWORD = "correct horse battery staple";

/**
 * The secret of every stack's sessions and CSRF tokens: 48 ASCII characters, fixed so that a
 * restarted child accepts the cookies of the one before. Fastify's secure-session takes its
 * first 32 bytes as the key.
 */
export const BENCH_SECRET = "bench-only-secret-key-never-use-it-in-production";

/** Form field of the CSRF token in every stack. */
export const CSRF_FIELD = "_csrf";

/** Name of the session cookie in every stack. */
export const SESSION_COOKIE = "session";

/** Session keys that `POST /notes` writes. */
export interface NotesSessionData {
  notes?: number;
  lastNote?: string;
}

/** Maximum length of a note title in `POST /notes`. A longer one gets 400. */
export const MAX_TITLE_LENGTH = 200;

/**
 * Content-Security-Policy of the stacks whose defaults send none (bare node:http and Hono):
 * the policy bengal-chirp sends by default.
 */
export const CONTENT_SECURITY_POLICY =
  "default-src 'self'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'; object-src 'none'";

/** Creates the Nunjucks environment of the peers: the options bengal-chirp's engine sets, with the cache on. */
export function createTemplates(): nunjucks.Environment {
  return new nunjucks.Environment(new nunjucks.FileSystemLoader(TEMPLATE_DIRECTORY), {
    autoescape: true,
    throwOnUndefined: false,
    trimBlocks: true,
    lstripBlocks: true,
  });
}

/** Context of `account.html`. */
export function accountContext(
  user: BenchUser,
  csrf: string,
): { title: string; user: BenchUser; items: readonly PageItem[]; csrf: string } {
  return { title: `Account of ${user.name}`, user, items: pageContext().items, csrf };
}

/** Context of `login.html`. */
export function loginContext(csrf: string, error = ""): { title: string; csrf: string; error: string } {
  return { title: "Log in", csrf, error };
}

/** Context of `saved.html`. */
export function savedContext(user: BenchUser, title: string, count: number): Record<string, unknown> {
  return { user, title, count };
}

/** The error message of a failed login. */
export const LOGIN_FAILED = "Email or password is incorrect.";

/**
 * Validates the title of `POST /notes`: returns it, or null when it is missing, blank or
 * longer than {@link MAX_TITLE_LENGTH}.
 */
export function validTitle(value: unknown): string | null {
  if (typeof value !== "string") return null;
  const title = value.trim();
  return title === "" || title.length > MAX_TITLE_LENGTH ? null : title;
}

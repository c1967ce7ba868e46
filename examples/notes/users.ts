import { randomBytes } from "node:crypto";
import type Database from "better-sqlite3";
import type { Request } from "../../src/index.js";
import type { AuthUser } from "../../src/security/index.js";
import { DEFAULT_SCRYPT_LOG_N, hashPassword, verifyPassword } from "./passwords.js";

/** A user as `req.user` carries it. The id is the users table's rowid as a decimal string. */
export interface NotesUser extends AuthUser {
  readonly id: string;
  readonly email: string;
  readonly name: string;
  /** Bumped to end every existing session of the user. */
  readonly sessionVersion: number;
  readonly permissions: readonly string[];
}

/** A row of the admin page: a user and how many notes they own. */
export interface UserSummary {
  readonly id: number;
  readonly email: string;
  readonly name: string;
  readonly isAdmin: boolean;
  readonly noteCount: number;
}

/** Input of {@link UserStore.create}. */
export interface NewUser {
  readonly email: string;
  readonly name: string;
  readonly password: string;
  readonly isAdmin?: boolean;
}

interface UserRow {
  id: number;
  email: string;
  name: string;
  passwordHash: string;
  sessionVersion: number;
  isAdmin: 0 | 1;
}

/** Maximum password length that `authenticate` hashes. A longer password fails without spending scrypt time on it. */
export const MAX_PASSWORD_LENGTH = 1024;

// User ids are SQLite rowids: positive integers of at most fifteen digits, below MAX_SAFE_INTEGER.
const USER_ID = /^[1-9][0-9]{0,14}$/;

const USER_COLUMNS =
  "id, email, display_name AS name, password_hash AS passwordHash, session_version AS sessionVersion, is_admin AS isAdmin";

function toUser(row: UserRow): NotesUser {
  return {
    id: String(row.id),
    email: row.email,
    name: row.name,
    sessionVersion: row.sessionVersion,
    permissions: row.isAdmin === 1 ? ["admin"] : [],
  };
}

/**
 * Returns the logged-in user of `req`. Throws when nobody is logged in, so call it only in
 * handlers behind `loginRequired` or `requires`.
 */
export function currentUser(req: Request): NotesUser {
  if (!req.isAuthenticated) throw new Error("currentUser() needs a logged-in user: guard the route with loginRequired");
  return req.user as NotesUser;
}

/** Normalises an email address for lookup: surrounding whitespace removed, lower case. */
export function normaliseEmail(email: string): string {
  return email.trim().toLowerCase();
}

/**
 * Users in the `users` table, with their scrypt password hashes. Create it with
 * {@link UserStore.open}, which prepares the hash that unknown emails are checked against.
 */
export class UserStore {
  readonly #scryptLogN: number;
  readonly #dummyHash: string;
  readonly #insert: Database.Statement<[string, string, string, number], UserRow>;
  readonly #selectById: Database.Statement<[number], UserRow>;
  readonly #selectByEmail: Database.Statement<[string], UserRow>;
  readonly #count: Database.Statement<[], { count: number }>;
  readonly #bumpSessionVersion: Database.Statement<[number]>;
  readonly #summaries: Database.Statement<[], Omit<UserSummary, "isAdmin"> & { isAdmin: 0 | 1 }>;

  private constructor(db: Database.Database, scryptLogN: number, dummyHash: string) {
    this.#scryptLogN = scryptLogN;
    this.#dummyHash = dummyHash;
    this.#insert = db.prepare(
      `INSERT INTO users (email, display_name, password_hash, is_admin) VALUES (?, ?, ?, ?) RETURNING ${USER_COLUMNS}`,
    );
    this.#selectById = db.prepare(`SELECT ${USER_COLUMNS} FROM users WHERE id = ?`);
    this.#selectByEmail = db.prepare(`SELECT ${USER_COLUMNS} FROM users WHERE email = ?`);
    this.#count = db.prepare("SELECT count(*) AS count FROM users");
    this.#bumpSessionVersion = db.prepare("UPDATE users SET session_version = session_version + 1 WHERE id = ?");
    this.#summaries = db.prepare(`
      SELECT users.id, users.email, users.display_name AS name, users.is_admin AS isAdmin,
             count(notes.id) AS noteCount
      FROM users LEFT JOIN notes ON notes.owner_id = users.id
      GROUP BY users.id
      ORDER BY users.id
    `);
  }

  /**
   * Opens the store on `db`, whose users table must exist. `scryptLogN` is the scrypt cost
   * of new hashes (default 16); tests lower it to keep hashing fast.
   */
  static async open(db: Database.Database, scryptLogN = DEFAULT_SCRYPT_LOG_N): Promise<UserStore> {
    // Unknown emails are checked against this hash of a password nobody knows, so that a
    // failed login takes about as long whether or not the email has an account.
    const dummyHash = await hashPassword(randomBytes(32).toString("base64url"), scryptLogN);
    return new UserStore(db, scryptLogN, dummyHash);
  }

  /** Hashes the password and inserts the user; throws when the email is taken. */
  async create(user: NewUser): Promise<NotesUser> {
    const passwordHash = await hashPassword(user.password, this.#scryptLogN);
    const row = this.#insert.get(normaliseEmail(user.email), user.name, passwordHash, user.isAdmin === true ? 1 : 0);
    if (row === undefined) throw new Error("INSERT ... RETURNING returned no row");
    return toUser(row);
  }

  /** Returns the user with the id `id` (a decimal string, as in `NotesUser.id`), or null. */
  findById(id: string): NotesUser | null {
    if (!USER_ID.test(id)) return null;
    const row = this.#selectById.get(Number(id));
    return row === undefined ? null : toUser(row);
  }

  /** Returns the user with this email, compared without regard to case, or null. */
  findByEmail(email: string): NotesUser | null {
    const row = this.#selectByEmail.get(normaliseEmail(email));
    return row === undefined ? null : toUser(row);
  }

  /**
   * Returns the user when the email has an account and the password matches it, else null.
   * An unknown email still costs one scrypt verification, against a dummy hash, so response
   * times do not tell which emails have accounts.
   */
  async authenticate(email: string, password: string): Promise<NotesUser | null> {
    if (password.length > MAX_PASSWORD_LENGTH) return null;
    const row = this.#selectByEmail.get(normaliseEmail(email));
    const matches = await verifyPassword(password, row?.passwordHash ?? this.#dummyHash);
    return matches && row !== undefined ? toUser(row) : null;
  }

  count(): number {
    return this.#count.get()?.count ?? 0;
  }

  /**
   * Increments the user's session version, which logs the user out of every existing
   * session on their next request. Returns whether the user exists.
   */
  bumpSessionVersion(id: string): boolean {
    if (!USER_ID.test(id)) return false;
    return this.#bumpSessionVersion.run(Number(id)).changes > 0;
  }

  /** Returns every user with the number of notes they own, in order of creation. */
  summaries(): UserSummary[] {
    return this.#summaries.all().map((row) => ({ ...row, isAdmin: row.isAdmin === 1 }));
  }
}

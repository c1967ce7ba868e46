import type Database from "better-sqlite3";
import type { Request } from "../../src/index.js";
import { hashPassword, normalizeIdentifier, type AuthUser, type PasswordAccount } from "../../src/security/index.js";

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

/** A user with the stored password hash, which `req.user` never carries. */
export interface StoredUser extends NotesUser {
  /** PHC string from `hashPassword`, such as `$argon2id$v=19$m=19456,t=2,p=1$…`. */
  readonly passwordHash: string;
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

function toStoredUser(row: UserRow): StoredUser {
  return { ...toUser(row), passwordHash: row.passwordHash };
}

/**
 * Returns the logged-in user of `req`. Throws when nobody is logged in, so call it only in
 * handlers behind `loginRequired` or `requires`.
 */
export function currentUser(req: Request): NotesUser {
  if (!req.isAuthenticated) throw new Error("currentUser() needs a logged-in user: guard the route with loginRequired");
  return req.user as NotesUser;
}

/**
 * Users in the `users` table, with password hashes from the framework's `hashPassword`.
 * Emails are stored and looked up in the form `normalizeIdentifier` gives them (trimmed,
 * NFKC, lower case), the same form `passwordLogin` and `LoginLockout` use.
 */
export class UserStore {
  readonly #insert: Database.Statement<[string, string, string, number], UserRow>;
  readonly #selectById: Database.Statement<[number], UserRow>;
  readonly #selectByEmail: Database.Statement<[string], UserRow>;
  readonly #count: Database.Statement<[], { count: number }>;
  readonly #bumpSessionVersion: Database.Statement<[number]>;
  readonly #setPasswordHash: Database.Statement<[string, number]>;
  readonly #changePassword: Database.Statement<[string, number], UserRow>;
  readonly #summaries: Database.Statement<[], Omit<UserSummary, "isAdmin"> & { isAdmin: 0 | 1 }>;

  /** Prepares the statements on `db`, whose users table must exist. */
  constructor(db: Database.Database) {
    this.#insert = db.prepare(
      `INSERT INTO users (email, display_name, password_hash, is_admin) VALUES (?, ?, ?, ?) RETURNING ${USER_COLUMNS}`,
    );
    this.#selectById = db.prepare(`SELECT ${USER_COLUMNS} FROM users WHERE id = ?`);
    this.#selectByEmail = db.prepare(`SELECT ${USER_COLUMNS} FROM users WHERE email = ?`);
    this.#count = db.prepare("SELECT count(*) AS count FROM users");
    this.#bumpSessionVersion = db.prepare("UPDATE users SET session_version = session_version + 1 WHERE id = ?");
    this.#setPasswordHash = db.prepare("UPDATE users SET password_hash = ? WHERE id = ?");
    this.#changePassword = db.prepare(
      `UPDATE users SET password_hash = ?, session_version = session_version + 1 WHERE id = ? RETURNING ${USER_COLUMNS}`,
    );
    this.#summaries = db.prepare(`
      SELECT users.id, users.email, users.display_name AS name, users.is_admin AS isAdmin,
             count(notes.id) AS noteCount
      FROM users LEFT JOIN notes ON notes.owner_id = users.id
      GROUP BY users.id
      ORDER BY users.id
    `);
  }

  /**
   * Hashes the password and inserts the user. Throws InvalidPasswordError for an empty
   * password or one over 1,024 characters, and a SQLite constraint error when the email is taken.
   */
  async create(user: NewUser): Promise<NotesUser> {
    const passwordHash = await hashPassword(user.password);
    const email = normalizeIdentifier(user.email);
    const row = this.#insert.get(email, user.name, passwordHash, user.isAdmin === true ? 1 : 0);
    if (row === undefined) throw new Error("INSERT ... RETURNING returned no row");
    return toUser(row);
  }

  /** Returns the user with the id `id` (a decimal string, as in `NotesUser.id`), or null. */
  findById(id: string): NotesUser | null {
    const row = this.#rowById(id);
    return row === undefined ? null : toUser(row);
  }

  /** Returns the user with the id `id` and its password hash, or null. */
  findStoredById(id: string): StoredUser | null {
    const row = this.#rowById(id);
    return row === undefined ? null : toStoredUser(row);
  }

  /** Returns the user with this email, compared after `normalizeIdentifier`, or null. */
  findByEmail(email: string): NotesUser | null {
    const row = this.#selectByEmail.get(normalizeIdentifier(email));
    return row === undefined ? null : toUser(row);
  }

  /** Returns the user with this email and its password hash, or null. */
  findStoredByEmail(email: string): StoredUser | null {
    const row = this.#selectByEmail.get(normalizeIdentifier(email));
    return row === undefined ? null : toStoredUser(row);
  }

  /** Returns the account as `passwordLogin` expects it from `findUser`, or null. */
  findAccount(email: string): PasswordAccount<NotesUser> | null {
    const row = this.#selectByEmail.get(normalizeIdentifier(email));
    return row === undefined ? null : { user: toUser(row), passwordHash: row.passwordHash };
  }

  count(): number {
    return this.#count.get()?.count ?? 0;
  }

  /**
   * Replaces the password hash and keeps the session version, for a rehash at login with
   * the same password. Returns whether the user exists.
   */
  setPasswordHash(id: string, passwordHash: string): boolean {
    if (!USER_ID.test(id)) return false;
    return this.#setPasswordHash.run(passwordHash, Number(id)).changes > 0;
  }

  /**
   * Replaces the password hash and increments the session version in one statement, so
   * every existing session of the user ends. Returns the updated user, whose new version
   * `login()` stores in the session that stays logged in, or null when there is no such user.
   */
  changePassword(id: string, passwordHash: string): NotesUser | null {
    if (!USER_ID.test(id)) return null;
    const row = this.#changePassword.get(passwordHash, Number(id));
    return row === undefined ? null : toUser(row);
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

  #rowById(id: string): UserRow | undefined {
    return USER_ID.test(id) ? this.#selectById.get(Number(id)) : undefined;
  }
}

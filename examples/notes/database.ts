import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
import Database from "better-sqlite3";
import type { Logger } from "../../src/index.js";

/** The path better-sqlite3 treats as a private in-memory database. */
export const IN_MEMORY = ":memory:";

/** The name an old notes table, from before notes had owners, is moved to on start. */
export const OWNERLESS_NOTES_TABLE = "notes_without_owner";

const SCHEMA = `
  CREATE TABLE IF NOT EXISTS users (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    email TEXT NOT NULL UNIQUE COLLATE NOCASE,
    display_name TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    session_version INTEGER NOT NULL DEFAULT 1,
    is_admin INTEGER NOT NULL DEFAULT 0 CHECK (is_admin IN (0, 1))
  );

  CREATE TABLE IF NOT EXISTS notes (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    owner_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    text TEXT NOT NULL CHECK (length(text) > 0),
    created_at TEXT NOT NULL
  );

  CREATE INDEX IF NOT EXISTS notes_by_owner ON notes (owner_id, id);
`;

function hasColumn(db: Database.Database, table: string, column: string): boolean {
  const columns = db.prepare<[string], { name: string }>("SELECT name FROM pragma_table_info(?)").all(table);
  return columns.some((row) => row.name === column);
}

/**
 * Moves a notes table from before notes had owners out of the way, so the schema can create
 * the new one. Nothing records who wrote those notes, so instead of being given to some user
 * or deleted they are kept, unread by the app, in `notes_without_owner`. The data folder is
 * not in version control, so only a developer's local notes are affected.
 */
function setAsideOwnerlessNotes(db: Database.Database, logger: Logger): void {
  const exists = db.prepare("SELECT 1 FROM sqlite_schema WHERE type = 'table' AND name = 'notes'").get();
  if (exists === undefined || hasColumn(db, "notes", "owner_id")) return;

  const setAside = db.transaction(() => {
    // A table left by an earlier rename would block this one. That takes a second notes table
    // without owner_id in the same file, which only a hand edit makes, and the newer copy wins.
    db.exec(`DROP TABLE IF EXISTS ${OWNERLESS_NOTES_TABLE}`);
    db.exec(`ALTER TABLE notes RENAME TO ${OWNERLESS_NOTES_TABLE}`);
  });
  setAside();
  logger.warn(
    { table: OWNERLESS_NOTES_TABLE },
    `The notes table had no owner_id column, so it was renamed to ${OWNERLESS_NOTES_TABLE} and a new one created`,
  );
}

/**
 * Opens the SQLite database at `databasePath`, or a fresh in-memory database for
 * `":memory:"`, and creates its folder and the users and notes tables when they do not
 * exist yet. A file from before users existed keeps its notes in `notes_without_owner`.
 */
export function openDatabase(databasePath: string, logger: Logger): Database.Database {
  if (databasePath !== IN_MEMORY) mkdirSync(dirname(databasePath), { recursive: true });
  const db = new Database(databasePath);
  try {
    if (databasePath !== IN_MEMORY) {
      // Write-ahead logging lets readers continue while a note is being written.
      db.pragma("journal_mode = WAL");
    }
    // SQLite checks REFERENCES clauses only when this is on, and it is off by default.
    db.pragma("foreign_keys = ON");
    setAsideOwnerlessNotes(db, logger);
    db.exec(SCHEMA);
  } catch (error) {
    db.close();
    throw error;
  }
  return db;
}

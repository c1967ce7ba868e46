import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
import Database from "better-sqlite3";

/** A stored note. */
export interface Note {
  readonly id: number;
  readonly text: string;
  /** Creation time as an ISO 8601 string in UTC, such as `2025-01-31T09:30:00.000Z`. */
  readonly createdAt: string;
}

/** The path better-sqlite3 treats as a private in-memory database. */
export const IN_MEMORY = ":memory:";

const SCHEMA = `
  CREATE TABLE IF NOT EXISTS notes (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    text TEXT NOT NULL CHECK (length(text) > 0),
    created_at TEXT NOT NULL
  )
`;

const NOTE_COLUMNS = "id, text, created_at AS createdAt";

/**
 * Notes in a SQLite database through better-sqlite3. The constructor creates the database
 * file, its folder and the schema when they do not exist yet. Calls are synchronous, which
 * suits SQLite on local disk. Validate note text before calling `add`, because the table
 * rejects only empty text.
 */
export class NoteStore {
  readonly #db: Database.Database;
  readonly #now: () => Date;
  readonly #insert: Database.Statement<[string, string], Note>;
  readonly #selectLatest: Database.Statement<[number], Note>;
  readonly #count: Database.Statement<[], { count: number }>;
  readonly #delete: Database.Statement<[number]>;

  /**
   * Opens the database at `databasePath`, or a fresh in-memory database for `":memory:"`.
   * `now` supplies creation times, so tests can fix the clock.
   */
  constructor(databasePath: string, now: () => Date = () => new Date()) {
    if (databasePath !== IN_MEMORY) mkdirSync(dirname(databasePath), { recursive: true });
    this.#db = new Database(databasePath);
    this.#now = now;
    if (databasePath !== IN_MEMORY) {
      // Write-ahead logging lets readers continue while a note is being written.
      this.#db.pragma("journal_mode = WAL");
    }
    this.#db.exec(SCHEMA);

    this.#insert = this.#db.prepare(`INSERT INTO notes (text, created_at) VALUES (?, ?) RETURNING ${NOTE_COLUMNS}`);
    this.#selectLatest = this.#db.prepare(`SELECT ${NOTE_COLUMNS} FROM notes ORDER BY id DESC LIMIT ?`);
    this.#count = this.#db.prepare("SELECT count(*) AS count FROM notes");
    this.#delete = this.#db.prepare("DELETE FROM notes WHERE id = ?");
  }

  /** Inserts a note and returns it with its new id. */
  add(text: string): Note {
    const note = this.#insert.get(text, this.#now().toISOString());
    if (note === undefined) throw new Error("INSERT ... RETURNING returned no row");
    return note;
  }

  /** Returns the `limit` newest notes, newest first. */
  latest(limit: number): Note[] {
    return this.#selectLatest.all(limit);
  }

  count(): number {
    return this.#count.get()?.count ?? 0;
  }

  /** Deletes a note and returns whether a note with that id existed. */
  delete(id: number): boolean {
    return this.#delete.run(id).changes > 0;
  }

  close(): void {
    this.#db.close();
  }
}

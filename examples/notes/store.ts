import type Database from "better-sqlite3";

/** A stored note. */
export interface Note {
  readonly id: number;
  /** The id of the user who wrote the note, a rowid of the users table. */
  readonly ownerId: number;
  readonly text: string;
  /** Creation time as an ISO 8601 string in UTC, such as `2025-01-31T09:30:00.000Z`. */
  readonly createdAt: string;
}

const NOTE_COLUMNS = "id, owner_id AS ownerId, text, created_at AS createdAt";

/**
 * Notes in the `notes` table of a SQLite database opened by `openDatabase`. Calls are
 * synchronous, which suits SQLite on local disk. Validate note text before calling `add`
 * or `update`, because the table rejects only empty text.
 */
export class NoteStore {
  readonly #now: () => Date;
  readonly #insert: Database.Statement<[number, string, string], Note>;
  readonly #update: Database.Statement<[string, number], Note>;
  readonly #selectById: Database.Statement<[number], Note>;
  readonly #selectLatest: Database.Statement<[number, number], Note>;
  readonly #count: Database.Statement<[], { count: number }>;
  readonly #countByOwner: Database.Statement<[number], { count: number }>;
  readonly #delete: Database.Statement<[number]>;

  /** `now` supplies creation times, so tests can fix the clock. */
  constructor(db: Database.Database, now: () => Date = () => new Date()) {
    this.#now = now;
    this.#insert = db.prepare(
      `INSERT INTO notes (owner_id, text, created_at) VALUES (?, ?, ?) RETURNING ${NOTE_COLUMNS}`,
    );
    this.#update = db.prepare(`UPDATE notes SET text = ? WHERE id = ? RETURNING ${NOTE_COLUMNS}`);
    this.#selectById = db.prepare(`SELECT ${NOTE_COLUMNS} FROM notes WHERE id = ?`);
    this.#selectLatest = db.prepare(`SELECT ${NOTE_COLUMNS} FROM notes WHERE owner_id = ? ORDER BY id DESC LIMIT ?`);
    this.#count = db.prepare("SELECT count(*) AS count FROM notes");
    this.#countByOwner = db.prepare("SELECT count(*) AS count FROM notes WHERE owner_id = ?");
    this.#delete = db.prepare("DELETE FROM notes WHERE id = ?");
  }

  /** Inserts a note owned by the user `ownerId` and returns it with its new id. */
  add(ownerId: number, text: string): Note {
    const note = this.#insert.get(ownerId, text, this.#now().toISOString());
    if (note === undefined) throw new Error("INSERT ... RETURNING returned no row");
    return note;
  }

  /** Replaces the text of a note and returns the note, or undefined when there is none with that id. */
  update(id: number, text: string): Note | undefined {
    return this.#update.get(text, id);
  }

  find(id: number): Note | undefined {
    return this.#selectById.get(id);
  }

  /** Returns the `limit` newest notes of the user `ownerId`, newest first. */
  latest(ownerId: number, limit: number): Note[] {
    return this.#selectLatest.all(ownerId, limit);
  }

  /** Counts the notes of every user, or of the user `ownerId` when given. */
  count(ownerId?: number): number {
    const row = ownerId === undefined ? this.#count.get() : this.#countByOwner.get(ownerId);
    return row?.count ?? 0;
  }

  /** Deletes a note and returns whether a note with that id existed. */
  delete(id: number): boolean {
    return this.#delete.run(id).changes > 0;
  }
}

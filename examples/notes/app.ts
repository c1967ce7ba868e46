import { fileURLToPath } from "node:url";
import { App, Fragment, HTTPError, Redirect, Template } from "../../src/index.js";
import type { Env, Logger, Request } from "../../src/index.js";
import { SessionMiddleware } from "../../src/middleware/index.js";
import { loadAssets } from "./assets.js";
import { NoteStore } from "./store.js";
import { MAX_NOTE_LENGTH, validateNoteText } from "./validation.js";

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
}

/** The configured app and the resources it owns. */
export interface NotesApp {
  readonly app: App;
  readonly store: NoteStore;
  /** Stops the server, if it listens, once in-flight requests finish, and then closes the database. */
  close(): Promise<void>;
}

/** How many notes the notes page lists, newest first. */
export const NOTES_PER_PAGE = 100;

const TEMPLATES = fileURLToPath(new URL("./templates", import.meta.url));

// Note ids are SQLite rowids, which are positive integers. Anything else cannot name a note.
// Fifteen digits keep every accepted id below Number.MAX_SAFE_INTEGER.
const NOTE_ID = /^[1-9][0-9]{0,14}$/;

function noteNotFound(id: string): HTTPError {
  return new HTTPError(404, `No note has the id ${JSON.stringify(id)}. It may have been deleted already.`);
}

/** Deletes the note named by the `:id` path parameter; throws 404 when there is none. */
function deleteNote(store: NoteStore, req: Request): void {
  const id = req.params.id ?? "";
  if (!NOTE_ID.test(id) || !store.delete(Number(id))) throw noteNotFound(id);
}

/** Returns the one-time message stored by the previous request, removing it from the session. */
function takeFlash(req: Request): string {
  const flash = req.session.get("flash");
  if (flash === undefined) return "";
  req.session.delete("flash");
  return typeof flash === "string" ? flash : "";
}

/** Formats an ISO 8601 UTC timestamp to the minute, such as `2025-01-31 09:30 UTC`. */
function formatUtcMinute(value: string): string {
  return `${value.slice(0, 16).replace("T", " ")} UTC`;
}

/**
 * Creates the notes app on a SQLite database. Pass `":memory:"` for a private database
 * that disappears on close, as the tests do.
 */
export function createNotesApp(options: NotesAppOptions): NotesApp {
  const store = new NoteStore(options.databasePath, options.now);
  const assets = loadAssets();
  const app = new App({ templates: TEMPLATES, env: options.env, logger: options.logger });
  app.addTemplateFilter("utc_minute", formatUtcMinute);
  app.addMiddleware(new SessionMiddleware(options.secretKey === undefined ? {} : { secretKey: options.secretKey }));

  function notesPage(req: Request, form: { text?: string; error?: string } = {}, status = 200): Template {
    return Template(
      "notes.html",
      {
        notes: store.latest(NOTES_PER_PAGE),
        total: store.count(),
        maxLength: MAX_NOTE_LENGTH,
        text: form.text ?? "",
        error: form.error ?? "",
        flash: takeFlash(req),
      },
      { status },
    );
  }

  app.get("/", (req) => Template("home.html", { noteCount: store.count(), flash: takeFlash(req) }));

  app.get("/notes", (req) => notesPage(req));

  app.post("/notes", async (req) => {
    const form = await req.form();
    const result = validateNoteText(form.get("text"));
    if (!result.ok) {
      if (!req.isHtmx) return notesPage(req, { text: form.get("text") ?? "", error: result.message }, result.status);
      // The htmx headers move the swap from the list to the form's error message.
      return Fragment(
        "notes.html",
        "note_error",
        { error: result.message },
        { status: result.status, headers: { "hx-retarget": "#note-error", "hx-reswap": "outerHTML" } },
      );
    }

    const note = store.add(result.text);
    if (req.isHtmx) return Fragment("notes.html", "note", { note });
    // The message survives the redirect in the session and is shown once by the next page.
    req.session.set("flash", "Note saved.");
    // 303 makes the browser follow with GET, so reloading the page does not post the note again.
    return Redirect("/notes", 303);
  });

  // htmx sends DELETE. An empty 200 lets hx-swap="outerHTML" remove the note from the page.
  app.delete("/notes/:id", (req) => {
    deleteNote(store, req);
    return "";
  });

  // HTML forms can only send GET and POST, so without htmx the delete button posts here.
  app.post("/notes/:id/delete", (req) => {
    deleteNote(store, req);
    req.session.set("flash", "Note deleted.");
    return Redirect("/notes", 303);
  });

  for (const [path, response] of assets) app.get(path, () => response);

  return {
    app,
    store,
    async close() {
      try {
        await app.close();
      } finally {
        store.close();
      }
    },
  };
}

import { Fragment, HTTPError, Redirect, Template } from "../../../src/index.js";
import type { App, Request } from "../../../src/index.js";
import { loginRequired, requires } from "../../../src/security/index.js";
import { setFlash, takeFlash } from "../flash.js";
import type { Note, NoteStore } from "../store.js";
import { currentUser, type NotesUser } from "../users.js";
import { MAX_NOTE_LENGTH, validateNoteText } from "../validation.js";

/** How many notes the notes page lists, newest first. */
export const NOTES_PER_PAGE = 100;

// Note ids are SQLite rowids, which are positive integers. Anything else cannot name a note.
// Fifteen digits keep every accepted id below Number.MAX_SAFE_INTEGER.
const NOTE_ID = /^[1-9][0-9]{0,14}$/;

function noteNotFound(id: string): HTTPError {
  return new HTTPError(404, `No note has the id ${JSON.stringify(id)}. It may have been deleted already.`);
}

/** Returns the note named by the `:id` path parameter; throws 404 when there is none. */
function findNote(store: NoteStore, req: Request): Note {
  const id = req.params.id ?? "";
  const note = NOTE_ID.test(id) ? store.find(Number(id)) : undefined;
  if (note === undefined) throw noteNotFound(id);
  return note;
}

interface EditForm {
  text: string;
  error?: string;
}

/** Renders the edit form of `note`: a fragment that replaces the note in the list for htmx, else a page. */
function editForm(req: Request, note: Note, form: EditForm, status = 200): Template | Fragment {
  const context = { note, text: form.text, error: form.error ?? "", maxLength: MAX_NOTE_LENGTH };
  if (req.isHtmx) return Fragment("note_edit.html", "edit_form", context, { status });
  return Template("note_edit.html", { ...context, flash: takeFlash(req) }, { status });
}

/**
 * Adds the notes routes. Every one needs a logged-in user, and a user sees and changes only
 * their own notes.
 */
export function addNoteRoutes(app: App, store: NoteStore): void {
  /**
   * Allows a route on `/notes/:id` only to the note's owner. An unknown id throws 404 here,
   * before any owner check, and another user's note gives the guard's 403. A user can thus
   * tell that an id exists, but ids are sequential anyway, and the note's text and owner
   * stay hidden.
   */
  function ownsNote(user: NotesUser, req: Request): boolean {
    return findNote(store, req).ownerId === Number(user.id);
  }
  const ownerOnly = requires<NotesUser>({ policy: ownsNote });

  function notesPage(req: Request, form: { text?: string; error?: string } = {}, status = 200): Template {
    const ownerId = Number(currentUser(req).id);
    return Template(
      "notes.html",
      {
        notes: store.latest(ownerId, NOTES_PER_PAGE),
        total: store.count(ownerId),
        maxLength: MAX_NOTE_LENGTH,
        text: form.text ?? "",
        error: form.error ?? "",
        flash: takeFlash(req),
      },
      { status },
    );
  }

  /** Deletes the note named by the `:id` path parameter; throws 404 when there is none. */
  function deleteNote(req: Request): void {
    const note = findNote(store, req);
    if (!store.delete(note.id)) throw noteNotFound(String(note.id));
  }

  app.get(
    "/notes",
    loginRequired((req) => notesPage(req)),
  );

  app.post(
    "/notes",
    loginRequired(async (req) => {
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

      const note = store.add(Number(currentUser(req).id), result.text);
      if (req.isHtmx) return Fragment("notes.html", "note", { note });
      // The message survives the redirect in the session and is shown once by the next page.
      setFlash(req, "Note saved.");
      // 303 makes the browser follow with GET, so reloading the page does not post the note again.
      return Redirect("/notes", 303);
    }),
  );

  app.get(
    "/notes/:id/edit",
    ownerOnly((req) => {
      const note = findNote(store, req);
      return editForm(req, note, { text: note.text });
    }),
  );

  // The edit form posts here, with htmx or without. htmx gets the updated note, which
  // replaces the form in the list.
  app.post(
    "/notes/:id",
    ownerOnly(async (req) => {
      const form = await req.form();
      const note = findNote(store, req);
      const result = validateNoteText(form.get("text"));
      if (!result.ok)
        return editForm(req, note, { text: form.get("text") ?? "", error: result.message }, result.status);

      const updated = store.update(note.id, result.text);
      if (updated === undefined) throw noteNotFound(String(note.id));
      if (req.isHtmx) return Fragment("notes.html", "note", { note: updated });
      setFlash(req, "Note saved.");
      return Redirect("/notes", 303);
    }),
  );

  // htmx sends DELETE. An empty 200 lets hx-swap="outerHTML" remove the note from the page.
  app.delete(
    "/notes/:id",
    ownerOnly((req) => {
      deleteNote(req);
      return "";
    }),
  );

  // HTML forms can only send GET and POST, so without htmx the delete button posts here.
  app.post(
    "/notes/:id/delete",
    ownerOnly((req) => {
      deleteNote(req);
      setFlash(req, "Note deleted.");
      return Redirect("/notes", 303);
    }),
  );
}

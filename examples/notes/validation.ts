/** Maximum length of a note in Unicode code points, after trimming. */
export const MAX_NOTE_LENGTH = 2000;

/** The outcome of {@link validateNoteText}: the text to store, or the status and message to send. */
export type NoteTextResult =
  | { readonly ok: true; readonly text: string }
  | { readonly ok: false; readonly status: 400 | 422; readonly message: string };

/**
 * Validates the `text` field of the note form. Line breaks are normalised to LF, because
 * browsers submit a textarea with CRLF, and surrounding whitespace is trimmed. A missing
 * field is a malformed request (400). Empty or over-long text is a user mistake that the
 * form shows again (422).
 *
 * The length counts code points, as SQLite's `length()` does. The textarea's `maxlength`
 * counts UTF-16 code units, so a browser never submits more than this limit allows.
 */
export function validateNoteText(value: string | null): NoteTextResult {
  if (value === null) {
    return { ok: false, status: 400, message: "The form has no text field. Send the note as a field named text." };
  }

  const text = value.replace(/\r\n?/g, "\n").trim();
  if (text === "") {
    return { ok: false, status: 422, message: "The note is empty. Write some text before adding it." };
  }

  // eslint-disable-next-line @typescript-eslint/no-misused-spread -- counting code points is intended
  const length = [...text].length;
  if (length > MAX_NOTE_LENGTH) {
    return {
      ok: false,
      status: 422,
      message:
        `The note is ${length.toLocaleString("en-US")} characters long, ` +
        `but the maximum is ${MAX_NOTE_LENGTH.toLocaleString("en-US")}. Shorten it and try again.`,
    };
  }

  return { ok: true, text };
}

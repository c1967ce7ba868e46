import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test, type TestContext } from "node:test";
import { createNotesApp, NOTES_PER_PAGE, type NotesApp } from "../../examples/notes/app.js";
import { IN_MEMORY } from "../../examples/notes/store.js";
import { MAX_NOTE_LENGTH } from "../../examples/notes/validation.js";
import { TestClient } from "../../src/testing/index.js";

const HTMX = { "hx-request": "true" };
const FIXED_NOW = new Date("2025-01-31T09:30:15.000Z");
const SECRET_KEY = "notes-test-secret-key-that-is-long-enough-0123456789";

function createTestApp(t: TestContext): NotesApp {
  const notes = createNotesApp({ databasePath: IN_MEMORY, env: "test", now: () => FIXED_NOW, secretKey: SECRET_KEY });
  t.after(() => notes.close());
  return notes;
}

function createClient(t: TestContext): { notes: NotesApp; client: TestClient } {
  const notes = createTestApp(t);
  return { notes, client: new TestClient(notes.app) };
}

test("home page renders", async (t) => {
  const { client } = createClient(t);

  const response = await client.get("/");

  assert.equal(response.status, 200);
  assert.equal(response.header("content-type"), "text/html; charset=utf-8");
  assert.match(response.text, /^<!doctype html>/);
  assert.match(response.text, /<title>Home · bengal-chirp<\/title>/);
  assert.match(response.text, /There are 0 notes so far\./);
  assert.match(response.text, /<a href="\/notes">/);
});

test("home page counts notes", async (t) => {
  const { notes, client } = createClient(t);
  notes.store.add("first");

  const response = await client.get("/");

  assert.match(response.text, /There is 1 note so far\./);
});

test("notes page shows empty list and form", async (t) => {
  const { client } = createClient(t);

  const response = await client.get("/notes");

  assert.equal(response.status, 200);
  assert.match(response.text, /<form\s+class="note-form"[^>]*\shx-post="\/notes"/);
  assert.match(response.text, /hx-target="#notes"/);
  assert.match(response.text, /hx-swap="afterbegin"/);
  assert.match(response.text, /maxlength="2000"/);
  assert.match(response.text, /No notes yet/);
  assert.doesNotMatch(response.text, /<li /);
});

test("plain POST redirects and note appears escaped", async (t) => {
  const { notes, client } = createClient(t);
  const text = "<script>alert(\"x\")</script> & 'more'";

  const response = await client.post("/notes", { form: { text } });

  assert.equal(response.status, 303);
  assert.equal(response.header("location"), "/notes");
  assert.equal(notes.store.count(), 1);

  const page = await client.get("/notes");
  assert.equal(page.status, 200);
  assert.match(page.text, /&lt;script&gt;alert\(&quot;x&quot;\)&lt;\/script&gt; &amp; &#39;more&#39;/);
  assert.doesNotMatch(page.text, /<script>alert/);
  assert.match(page.text, /<time datetime="2025-01-31T09:30:15.000Z">2025-01-31 09:30 UTC<\/time>/);
});

test("flash message shows once after saving", async (t) => {
  const { client } = createClient(t);

  const saved = await client.post("/notes", { form: { text: "remember the milk" } });
  assert.equal(saved.status, 303);
  assert.equal(saved.cookies.length, 1, "the session cookie carries the message");

  const page = await client.get("/notes");
  assert.match(page.text, /<p class="flash" role="status">Note saved\.<\/p>/);

  const again = await client.get("/notes");
  assert.doesNotMatch(again.text, /class="flash"/);
});

test("flash message is private to its session", async (t) => {
  const { notes, client } = createClient(t);
  await client.post("/notes", { form: { text: "mine" } });

  const stranger = await new TestClient(notes.app).get("/notes");
  assert.doesNotMatch(stranger.text, /class="flash"/);
});

test("POST trims text and normalises line breaks", async (t) => {
  const { notes, client } = createClient(t);

  await client.post("/notes", { form: { text: "  line one\r\nline two \n" } });

  const [note] = notes.store.latest(1);
  assert.equal(note?.text, "line one\nline two");
});

test("notes page lists newest first", async (t) => {
  const { notes, client } = createClient(t);
  notes.store.add("older");
  notes.store.add("newer");

  const page = await client.get("/notes");

  const newer = page.text.indexOf("newer");
  const older = page.text.indexOf("older");
  assert.notEqual(newer, -1, "the newer note is listed");
  assert.notEqual(older, -1, "the older note is listed");
  assert.ok(newer < older, "the newer note comes first");
});

test("notes page caps the list length", async (t) => {
  const { notes, client } = createClient(t);
  for (let index = 0; index < NOTES_PER_PAGE + 2; index++) notes.store.add(`note ${String(index)}`);

  const page = await client.get("/notes");

  assert.equal(page.text.match(/<li /g)?.length, NOTES_PER_PAGE);
  assert.match(
    page.text,
    new RegExp(`Showing the ${String(NOTES_PER_PAGE)} newest of ${String(NOTES_PER_PAGE + 2)} notes`),
  );
});

test("htmx POST returns only the note fragment", async (t) => {
  const { notes, client } = createClient(t);

  const response = await client.post("/notes", { form: { text: "<b>bold</b>" }, headers: HTMX });

  assert.equal(response.status, 200);
  assert.equal(response.header("content-type"), "text/html; charset=utf-8");
  assert.doesNotMatch(response.text, /<html/);
  assert.doesNotMatch(response.text, /class="note-form"/);
  assert.match(response.text, /^\s*<li id="note-1" class="note">/);
  assert.match(response.text, /&lt;b&gt;bold&lt;\/b&gt;/);
  assert.match(response.text, /hx-delete="\/notes\/1"/);
  assert.match(response.text, /<\/li>\s*$/);
  assert.equal(notes.store.count(), 1);
});

test("empty notes are rejected", async (t) => {
  const { notes, client } = createClient(t);

  for (const text of ["", "   ", "\r\n\t\n"]) {
    const plain = await client.post("/notes", { form: { text } });
    assert.equal(plain.status, 422, `plain POST of ${JSON.stringify(text)}`);
    assert.match(plain.text, /<html/);
    assert.match(plain.text, /The note is empty\. Write some text before adding it\./);

    const htmx = await client.post("/notes", { form: { text }, headers: HTMX });
    assert.equal(htmx.status, 422, `htmx POST of ${JSON.stringify(text)}`);
    assert.doesNotMatch(htmx.text, /<html/);
    assert.match(htmx.text, /<p id="note-error"[^>]*>The note is empty\./);
    assert.equal(htmx.header("hx-retarget"), "#note-error");
    assert.equal(htmx.header("hx-reswap"), "outerHTML");
  }
  assert.equal(notes.store.count(), 0);
});

test("over-long notes are rejected", async (t) => {
  const { notes, client } = createClient(t);
  const text = "a".repeat(MAX_NOTE_LENGTH + 1);

  const plain = await client.post("/notes", { form: { text } });
  assert.equal(plain.status, 422);
  assert.match(plain.text, /The note is 2,001 characters long, but the maximum is 2,000\./);
  // The form shows the text again, so the user can shorten it instead of typing it anew.
  assert.match(plain.text, new RegExp(`<textarea[^>]*>\\s*${text}</textarea>`));

  const htmx = await client.post("/notes", { form: { text }, headers: HTMX });
  assert.equal(htmx.status, 422);
  assert.doesNotMatch(htmx.text, /<html/);
  assert.match(htmx.text, /The note is 2,001 characters long/);

  assert.equal(notes.store.count(), 0);
});

test("note of maximum length is accepted", async (t) => {
  const { notes, client } = createClient(t);

  const ascii = await client.post("/notes", { form: { text: "a".repeat(MAX_NOTE_LENGTH) } });
  // Each emoji is one code point but two UTF-16 code units, and the limit counts code points.
  const emoji = await client.post("/notes", { form: { text: "🐦".repeat(MAX_NOTE_LENGTH) } });

  assert.equal(ascii.status, 303);
  assert.equal(emoji.status, 303);
  assert.equal(notes.store.count(), 2);
});

test("missing text field is rejected", async (t) => {
  const { notes, client } = createClient(t);

  const response = await client.post("/notes", { form: { other: "value" } });

  assert.equal(response.status, 400);
  assert.match(response.text, /The form has no text field/);
  assert.equal(notes.store.count(), 0);
});

test("non-form body is rejected", async (t) => {
  const { notes, client } = createClient(t);

  const response = await client.post("/notes", { json: { text: "hello" } });

  assert.equal(response.status, 415);
  assert.equal(notes.store.count(), 0);
});

test("htmx.min.js is served as JavaScript", async (t) => {
  const { client } = createClient(t);

  const response = await client.get("/static/htmx.min.js");

  assert.equal(response.status, 200);
  assert.equal(response.header("content-type"), "text/javascript; charset=utf-8");
  assert.equal(response.header("cache-control"), "public, max-age=3600");
  assert.ok(response.body.length > 10_000, `htmx.min.js has ${String(response.body.length)} bytes`);
  assert.match(response.text, /htmx/);
});

test("stylesheet and page script are served", async (t) => {
  const { client } = createClient(t);

  const stylesheet = await client.get("/static/notes.css");
  const script = await client.get("/static/notes.js");

  assert.equal(stylesheet.status, 200);
  assert.equal(stylesheet.header("content-type"), "text/css; charset=utf-8");
  assert.match(stylesheet.text, /\.note-form/);
  assert.equal(script.status, 200);
  assert.equal(script.header("content-type"), "text/javascript; charset=utf-8");
  assert.match(script.text, /htmx:afterRequest/);
});

test("pages have no inline scripts or styles", async (t) => {
  const { notes, client } = createClient(t);
  notes.store.add("a note, so the list markup is rendered");

  for (const path of ["/", "/notes"]) {
    const page = await client.get(path);
    const scripts = page.text.match(/<script\b[^>]*>/g) ?? [];
    assert.ok(scripts.length > 0, `${path} loads scripts`);
    for (const tag of scripts) assert.match(tag, /\bsrc="\/static\//, `${path}: ${tag}`);
    assert.doesNotMatch(page.text, /<style\b/, path);
    assert.doesNotMatch(page.text, /\sstyle=/, path);
    assert.doesNotMatch(page.text, /\son[a-z]+=/, path);
    assert.doesNotMatch(page.text, /\shx-on/, path);
    assert.doesNotMatch(page.text, /https?:\/\//, `${path} loads nothing from another origin`);
  }
});

test("htmx DELETE removes a note", async (t) => {
  const { notes, client } = createClient(t);
  const note = notes.store.add("to delete");

  const response = await client.delete(`/notes/${String(note.id)}`, { headers: HTMX });

  assert.equal(response.status, 200);
  assert.equal(response.text, "");
  assert.equal(notes.store.count(), 0);
});

test("DELETE of unknown note is 404", async (t) => {
  const { notes, client } = createClient(t);
  notes.store.add("stays");

  for (const id of ["999", "0", "-1", "1.5", "abc", "1e3", "99999999999999999999"]) {
    const response = await client.delete(`/notes/${id}`, { headers: HTMX });
    assert.equal(response.status, 404, `DELETE /notes/${id}`);
    assert.match(
      response.text,
      new RegExp(`No note has the id &quot;${id.replace(".", "\\.")}&quot;`),
      `DELETE /notes/${id}`,
    );
  }
  assert.equal(notes.store.count(), 1);
});

test("DELETE twice is 404 the second time", async (t) => {
  const { notes, client } = createClient(t);
  const note = notes.store.add("once");

  const first = await client.delete(`/notes/${String(note.id)}`);
  const second = await client.delete(`/notes/${String(note.id)}`);

  assert.equal(first.status, 200);
  assert.equal(second.status, 404);
});

test("plain POST delete redirects", async (t) => {
  const { notes, client } = createClient(t);
  const note = notes.store.add("to delete");

  const response = await client.post(`/notes/${String(note.id)}/delete`);
  const unknown = await client.post("/notes/999/delete");

  assert.equal(response.status, 303);
  assert.equal(response.header("location"), "/notes");
  assert.equal(unknown.status, 404);
  assert.equal(notes.store.count(), 0);
});

test("file database keeps notes across restarts", async (t) => {
  const directory = await mkdtemp(join(tmpdir(), "chirp-notes-"));
  t.after(() => rm(directory, { recursive: true, force: true }));
  // A folder that does not exist yet, as examples/notes/data/ on the first start.
  const databasePath = join(directory, "data", "notes.sqlite3");

  const first = createNotesApp({ databasePath, env: "test", secretKey: SECRET_KEY });
  first.store.add("persisted");
  await first.close();

  const second = createNotesApp({ databasePath, env: "test", secretKey: SECRET_KEY });
  t.after(() => second.close());
  const page = await new TestClient(second.app).get("/notes");
  assert.match(page.text, /persisted/);
});

test("real server serves the home page", async (t) => {
  const notes = createTestApp(t);

  const server = await notes.app.listen({ port: 0, host: "127.0.0.1" });
  const { port } = server.address() as AddressInfo;
  const response = await fetch(`http://127.0.0.1:${String(port)}/`, { signal: AbortSignal.timeout(5000) });
  const body = await response.text();
  await notes.close();

  assert.equal(response.status, 200);
  assert.equal(response.headers.get("content-type"), "text/html; charset=utf-8");
  assert.match(body, /<title>Home · bengal-chirp<\/title>/);
  assert.equal(server.listening, false);
});

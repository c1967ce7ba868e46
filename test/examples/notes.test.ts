import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { test, type TestContext } from "node:test";
import Database from "better-sqlite3";
import { createNotesApp, NOTES_PER_PAGE, type NotesApp, type NotesAppOptions } from "../../examples/notes/app.js";
import { IN_MEMORY, OWNERLESS_NOTES_TABLE } from "../../examples/notes/database.js";
import { LOGIN_FAILED_MESSAGE } from "../../examples/notes/routes/auth.js";
import type { NotesUser } from "../../examples/notes/users.js";
import { MAX_NOTE_LENGTH } from "../../examples/notes/validation.js";
import { ConfigurationError } from "../../src/index.js";
import { setSecurityEventSink, type SecurityEvent } from "../../src/security/index.js";
import { TestClient, type TestResponse } from "../../src/testing/index.js";
import { captureLogger } from "../helpers.js";

const HTMX = { "hx-request": "true" };
const FIXED_NOW = new Date("2025-01-31T09:30:15.000Z");
const SECRET_KEY = "notes-test-secret-key-that-is-long-enough-0123456789";
const DEMO_PASSWORD = "correct horse battery staple";
const ALICE = "alice@example.com";
const ADMIN = "admin@example.com";
// N = 2^10 keeps a hash at a few milliseconds. The default cost has its own tests in notes-passwords.test.ts.
const TEST_SCRYPT_LOG_N = 10;

async function createTestApp(t: TestContext, options: Partial<NotesAppOptions> = {}): Promise<NotesApp> {
  const notes = await createNotesApp({
    databasePath: IN_MEMORY,
    env: "test",
    now: () => FIXED_NOW,
    secretKey: SECRET_KEY,
    demoPassword: DEMO_PASSWORD,
    scryptLogN: TEST_SCRYPT_LOG_N,
    ...options,
  });
  t.after(() => notes.close());
  return notes;
}

/** Logs `client` in and checks that the login succeeded. */
async function logIn(client: TestClient, email = ALICE, password = DEMO_PASSWORD): Promise<TestResponse> {
  const response = await client.post("/login", { form: { email, password } });
  assert.equal(response.status, 303, `login of ${email} failed with ${String(response.status)}`);
  return response;
}

function userOf(notes: NotesApp, email: string): NotesUser {
  const user = notes.users.findByEmail(email);
  assert.ok(user, `${email} exists`);
  return user;
}

/** Returns the owner id of notes written by the user with this email. */
function ownerIdOf(notes: NotesApp, email: string): number {
  return Number(userOf(notes, email).id);
}

/** Creates an app and a client logged in as Alice. */
async function createClient(t: TestContext): Promise<{ notes: NotesApp; client: TestClient; alice: number }> {
  const notes = await createTestApp(t);
  const client = new TestClient(notes.app);
  await logIn(client);
  return { notes, client, alice: ownerIdOf(notes, ALICE) };
}

function sessionCookieValue(response: TestResponse): string {
  const cookie = response.cookies.find((value) => value.startsWith("chirp_session="));
  assert.ok(cookie, "the response sets the session cookie");
  return cookie.split(";")[0]!.slice("chirp_session=".length);
}

function clientWithSessionCookie(notes: NotesApp, value: string): TestClient {
  const client = new TestClient(notes.app);
  client.jar.store(`chirp_session=${value}; Path=/`, new URL("http://testserver/"));
  return client;
}

function recordSecurityEvents(t: TestContext): SecurityEvent[] {
  const events: SecurityEvent[] = [];
  setSecurityEventSink((event) => {
    events.push(event);
  });
  t.after(() => setSecurityEventSink(null));
  return events;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? Number.NaN;
}

// Pages and fragments

test("home page renders", async (t) => {
  const notes = await createTestApp(t);

  const response = await new TestClient(notes.app).get("/");

  assert.equal(response.status, 200);
  assert.equal(response.header("content-type"), "text/html; charset=utf-8");
  assert.match(response.text, /^<!doctype html>/);
  assert.match(response.text, /<title>Home · bengal-chirp<\/title>/);
  assert.match(response.text, /There are 0 notes so far\./);
  assert.match(response.text, /<a href="\/login">Log in<\/a> to\s+read and write your notes/);
});

test("home page counts notes", async (t) => {
  const { notes, client, alice } = await createClient(t);
  notes.store.add(alice, "first");

  const response = await client.get("/");

  assert.match(response.text, /There is 1 note so far\./);
  assert.match(response.text, /<a href="\/notes">Read and write your notes<\/a>/);
});

test("notes page shows empty list and form", async (t) => {
  const { client } = await createClient(t);

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
  const { notes, client } = await createClient(t);
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
  const { client } = await createClient(t);
  // The login flash is shown and removed first, so only the note's message is left.
  await client.get("/notes");

  const saved = await client.post("/notes", { form: { text: "remember the milk" } });
  assert.equal(saved.status, 303);
  assert.equal(saved.cookies.length, 1, "the session cookie carries the message");

  const page = await client.get("/notes");
  assert.match(page.text, /<p class="flash" role="status">Note saved\.<\/p>/);

  const again = await client.get("/notes");
  assert.doesNotMatch(again.text, /class="flash"/);
});

test("flash message is private to its session", async (t) => {
  const { notes, client } = await createClient(t);
  await client.get("/notes");
  await client.post("/notes", { form: { text: "mine" } });

  const otherSession = new TestClient(notes.app);
  await logIn(otherSession);
  await otherSession.get("/notes");
  const page = await otherSession.get("/notes");
  assert.doesNotMatch(page.text, /class="flash"/);
});

test("POST trims text and normalises line breaks", async (t) => {
  const { notes, client, alice } = await createClient(t);

  await client.post("/notes", { form: { text: "  line one\r\nline two \n" } });

  const [note] = notes.store.latest(alice, 1);
  assert.equal(note?.text, "line one\nline two");
});

test("notes page lists newest first", async (t) => {
  const { notes, client, alice } = await createClient(t);
  notes.store.add(alice, "older");
  notes.store.add(alice, "newer");

  const page = await client.get("/notes");

  const newer = page.text.indexOf("newer");
  const older = page.text.indexOf("older");
  assert.notEqual(newer, -1, "the newer note is listed");
  assert.notEqual(older, -1, "the older note is listed");
  assert.ok(newer < older, "the newer note comes first");
});

test("notes page caps the list length", async (t) => {
  const { notes, client, alice } = await createClient(t);
  for (let index = 0; index < NOTES_PER_PAGE + 2; index++) notes.store.add(alice, `note ${String(index)}`);

  const page = await client.get("/notes");

  assert.equal(page.text.match(/<li /g)?.length, NOTES_PER_PAGE);
  assert.match(
    page.text,
    new RegExp(`Showing the ${String(NOTES_PER_PAGE)} newest of ${String(NOTES_PER_PAGE + 2)} notes`),
  );
});

test("notes page lists only own notes", async (t) => {
  const { notes, client, alice } = await createClient(t);
  notes.store.add(alice, "alice's note");
  notes.store.add(ownerIdOf(notes, ADMIN), "admin's secret");

  const page = await client.get("/notes");

  assert.match(page.text, /alice&#39;s note/);
  assert.doesNotMatch(page.text, /admin&#39;s secret/);
  assert.equal(page.text.match(/<li /g)?.length, 1);
});

test("new note belongs to current user", async (t) => {
  const { notes, client, alice } = await createClient(t);

  await client.post("/notes", { form: { text: "written by alice" } });

  assert.equal(notes.store.count(alice), 1);
  assert.equal(notes.store.count(ownerIdOf(notes, ADMIN)), 0);
  const admin = new TestClient(notes.app);
  await logIn(admin, ADMIN);
  assert.doesNotMatch((await admin.get("/notes")).text, /written by alice/);
});

test("htmx POST returns only the note fragment", async (t) => {
  const { notes, client } = await createClient(t);

  const response = await client.post("/notes", { form: { text: "<b>bold</b>" }, headers: HTMX });

  assert.equal(response.status, 200);
  assert.equal(response.header("content-type"), "text/html; charset=utf-8");
  assert.doesNotMatch(response.text, /<html/);
  assert.doesNotMatch(response.text, /class="note-form"/);
  assert.match(response.text, /^\s*<li id="note-1" class="note">/);
  assert.match(response.text, /&lt;b&gt;bold&lt;\/b&gt;/);
  assert.match(response.text, /hx-delete="\/notes\/1"/);
  assert.match(response.text, /hx-get="\/notes\/1\/edit"/);
  assert.match(response.text, /<\/li>\s*$/);
  assert.equal(notes.store.count(), 1);
});

test("empty notes are rejected", async (t) => {
  const { notes, client } = await createClient(t);

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
  const { notes, client } = await createClient(t);
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
  const { notes, client } = await createClient(t);

  const ascii = await client.post("/notes", { form: { text: "a".repeat(MAX_NOTE_LENGTH) } });
  // Each emoji is one code point but two UTF-16 code units, and the limit counts code points.
  const emoji = await client.post("/notes", { form: { text: "🐦".repeat(MAX_NOTE_LENGTH) } });

  assert.equal(ascii.status, 303);
  assert.equal(emoji.status, 303);
  assert.equal(notes.store.count(), 2);
});

test("missing text field is rejected", async (t) => {
  const { notes, client } = await createClient(t);

  const response = await client.post("/notes", { form: { other: "value" } });

  assert.equal(response.status, 400);
  assert.match(response.text, /The form has no text field/);
  assert.equal(notes.store.count(), 0);
});

test("non-form body is rejected", async (t) => {
  const { notes, client } = await createClient(t);

  const response = await client.post("/notes", { json: { text: "hello" } });

  assert.equal(response.status, 415);
  assert.equal(notes.store.count(), 0);
});

test("htmx.min.js is served as JavaScript", async (t) => {
  const notes = await createTestApp(t);

  const response = await new TestClient(notes.app).get("/static/htmx.min.js");

  assert.equal(response.status, 200);
  assert.equal(response.header("content-type"), "text/javascript; charset=utf-8");
  assert.equal(response.header("cache-control"), "public, max-age=3600");
  assert.ok(response.body.length > 10_000, `htmx.min.js has ${String(response.body.length)} bytes`);
  assert.match(response.text, /htmx/);
});

test("stylesheet and page script are served", async (t) => {
  const notes = await createTestApp(t);
  const client = new TestClient(notes.app);

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
  const notes = await createTestApp(t);
  const note = notes.store.add(ownerIdOf(notes, ADMIN), "a note, so the list markup is rendered");
  const anonymous = new TestClient(notes.app);
  const admin = new TestClient(notes.app);
  await logIn(admin, ADMIN);

  const pages: [TestClient, string][] = [
    [anonymous, "/"],
    [anonymous, "/login"],
    [admin, "/"],
    [admin, "/notes"],
    [admin, `/notes/${String(note.id)}/edit`],
    [admin, "/dashboard"],
    [admin, "/admin"],
  ];
  for (const [client, path] of pages) {
    const page = await client.get(path);
    assert.equal(page.status, 200, path);
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

// Deleting and editing notes

test("htmx DELETE removes a note", async (t) => {
  const { notes, client, alice } = await createClient(t);
  const note = notes.store.add(alice, "to delete");

  const response = await client.delete(`/notes/${String(note.id)}`, { headers: HTMX });

  assert.equal(response.status, 200);
  assert.equal(response.text, "");
  assert.equal(notes.store.count(), 0);
});

test("DELETE of unknown note is 404", async (t) => {
  const { notes, client, alice } = await createClient(t);
  notes.store.add(alice, "stays");

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

test("unknown note is 404 on every note route", async (t) => {
  const { client } = await createClient(t);

  const responses = [
    await client.get("/notes/999/edit"),
    await client.post("/notes/999", { form: { text: "new text" } }),
    await client.post("/notes/999/delete"),
    await client.delete("/notes/999"),
  ];

  for (const response of responses) assert.equal(response.status, 404);
});

test("DELETE twice is 404 the second time", async (t) => {
  const { notes, client, alice } = await createClient(t);
  const note = notes.store.add(alice, "once");

  const first = await client.delete(`/notes/${String(note.id)}`);
  const second = await client.delete(`/notes/${String(note.id)}`);

  assert.equal(first.status, 200);
  assert.equal(second.status, 404);
});

test("plain POST delete redirects", async (t) => {
  const { notes, client, alice } = await createClient(t);
  const note = notes.store.add(alice, "to delete");

  const response = await client.post(`/notes/${String(note.id)}/delete`);
  const unknown = await client.post("/notes/999/delete");

  assert.equal(response.status, 303);
  assert.equal(response.header("location"), "/notes");
  assert.equal(unknown.status, 404);
  assert.equal(notes.store.count(), 0);
});

test("edit page shows the note in a form", async (t) => {
  const { notes, client, alice } = await createClient(t);
  const note = notes.store.add(alice, "<i>draft</i>");

  const page = await client.get(`/notes/${String(note.id)}/edit`);
  const fragment = await client.get(`/notes/${String(note.id)}/edit`, { headers: HTMX });

  assert.equal(page.status, 200);
  assert.match(page.text, /<title>Edit note · bengal-chirp<\/title>/);
  assert.match(page.text, /<form\s+class="note-form"\s+method="post"\s+action="\/notes\/1"/);
  assert.match(page.text, /<textarea[^>]*>\s*&lt;i&gt;draft&lt;\/i&gt;<\/textarea>/);
  assert.equal(fragment.status, 200);
  assert.doesNotMatch(fragment.text, /<html/);
  assert.match(fragment.text, /^\s*<li id="note-1" class="note">\s*<form/);
  assert.match(fragment.text, /hx-post="\/notes\/1"/);
});

test("plain POST saves an edit", async (t) => {
  const { notes, client, alice } = await createClient(t);
  const note = notes.store.add(alice, "before");

  const response = await client.post(`/notes/${String(note.id)}`, { form: { text: "  after\r\n" } });

  assert.equal(response.status, 303);
  assert.equal(response.header("location"), "/notes");
  assert.equal(notes.store.find(note.id)?.text, "after");
  assert.match((await client.get("/notes")).text, /<p class="flash" role="status">Note saved\.<\/p>/);
});

test("htmx POST saves an edit and returns the note", async (t) => {
  const { notes, client, alice } = await createClient(t);
  const note = notes.store.add(alice, "before");

  const response = await client.post(`/notes/${String(note.id)}`, { form: { text: "after" }, headers: HTMX });

  assert.equal(response.status, 200);
  assert.doesNotMatch(response.text, /<html/);
  assert.match(response.text, /^\s*<li id="note-1" class="note">\s*<p class="note-text">after<\/p>/);
  assert.equal(notes.store.find(note.id)?.text, "after");
});

test("invalid edit shows the form again", async (t) => {
  const { notes, client, alice } = await createClient(t);
  const note = notes.store.add(alice, "unchanged");
  const path = `/notes/${String(note.id)}`;

  const plain = await client.post(path, { form: { text: "   " } });
  const htmx = await client.post(path, { form: { text: "" }, headers: HTMX });
  const missing = await client.post(path, { form: { other: "value" } });

  assert.equal(plain.status, 422);
  assert.match(plain.text, /<html/);
  assert.match(plain.text, /The note is empty\./);
  assert.equal(htmx.status, 422);
  assert.doesNotMatch(htmx.text, /<html/);
  assert.match(htmx.text, /^\s*<li id="note-1" class="note">/);
  assert.match(htmx.text, /<p id="note-1-error"[^>]*>The note is empty\./);
  assert.equal(missing.status, 400);
  assert.equal(notes.store.find(note.id)?.text, "unchanged");
});

test("other user's note is 403 and unchanged", async (t) => {
  const events = recordSecurityEvents(t);
  const { notes, client } = await createClient(t);
  const note = notes.store.add(ownerIdOf(notes, ADMIN), "admin's note");
  const path = `/notes/${String(note.id)}`;

  const responses = [
    await client.get(`${path}/edit`),
    await client.get(`${path}/edit`, { headers: HTMX }),
    await client.post(path, { form: { text: "changed by alice" } }),
    await client.post(path, { form: { text: "changed by alice" }, headers: HTMX }),
    await client.delete(path, { headers: HTMX }),
    await client.post(`${path}/delete`),
  ];

  for (const response of responses) {
    assert.equal(response.status, 403);
    assert.doesNotMatch(response.text, /admin&#39;s note|admin's note/);
  }
  assert.equal(notes.store.find(note.id)?.text, "admin's note");
  assert.equal(notes.store.count(), 1);
  const denied = events.filter((event) => event.name === "authz.policy.denied");
  assert.equal(denied.length, responses.length);
  assert.equal(denied[0]?.userId, userOf(notes, ALICE).id);
});

test("note routes send anonymous users to login", async (t) => {
  const notes = await createTestApp(t);
  const note = notes.store.add(ownerIdOf(notes, ALICE), "alice's note");
  const client = new TestClient(notes.app);

  const list = await client.get("/notes");
  const create = await client.post("/notes", { form: { text: "anonymous" } });
  const edit = await client.get(`/notes/${String(note.id)}/edit`);
  // An anonymous request learns nothing about which ids exist: unknown ids redirect too.
  const unknown = await client.delete("/notes/999");

  assert.equal(list.status, 302);
  assert.equal(list.header("location"), "/login?next=%2Fnotes");
  assert.equal(create.status, 302);
  assert.equal(edit.status, 302);
  assert.equal(edit.header("location"), "/login?next=%2Fnotes%2F1%2Fedit");
  assert.equal(unknown.status, 302);
  assert.equal(notes.store.count(), 1);
});

// Logging in and out

test("login page carries a safe next", async (t) => {
  const notes = await createTestApp(t);
  const client = new TestClient(notes.app);

  const page = await client.get("/login?next=%2Fdashboard");
  const unsafe = await client.get("/login?next=%2F%2Fevil.example");

  assert.equal(page.status, 200);
  assert.match(page.text, /<input\s+id="login-email"\s+name="email"\s+type="email"/);
  assert.match(page.text, /<input\s+id="login-password"\s+name="password"\s+type="password"/);
  assert.match(page.text, /<input type="hidden" name="next" value="\/dashboard" \/>/);
  assert.equal(unsafe.status, 200);
  assert.doesNotMatch(unsafe.text, /name="next"/);
  assert.doesNotMatch(unsafe.text, /evil/);
});

test("login redirects to next", async (t) => {
  const notes = await createTestApp(t);
  const client = new TestClient(notes.app);

  const response = await client.post("/login", {
    form: { email: ALICE, password: DEMO_PASSWORD, next: "/dashboard?tab=notes" },
  });

  assert.equal(response.status, 303);
  assert.equal(response.header("location"), "/dashboard?tab=notes");
  const dashboard = await client.get("/dashboard");
  assert.equal(dashboard.status, 200);
  assert.match(dashboard.text, /You are logged in as Alice \(alice@example\.com\)\./);
  assert.match(dashboard.text, /You have 0 notes\./);
});

test("login without next goes to notes", async (t) => {
  const notes = await createTestApp(t);
  const client = new TestClient(notes.app);

  const response = await client.post("/login", { form: { email: "  Alice@Example.COM ", password: DEMO_PASSWORD } });

  assert.equal(response.status, 303);
  assert.equal(response.header("location"), "/notes");
  const page = await client.get("/notes");
  assert.equal(page.status, 200);
  assert.match(page.text, /<p class="flash" role="status">You are logged in as Alice\.<\/p>/);
});

test("unsafe next falls back to notes", async (t) => {
  const notes = await createTestApp(t);

  for (const next of [
    "//evil.example",
    "https://evil.example/",
    "/\\evil.example",
    "/%2F%2Fevil.example",
    "javascript:alert(1)",
    "/\t/evil.example",
    "",
  ]) {
    const response = await new TestClient(notes.app).post("/login", {
      form: { email: ALICE, password: DEMO_PASSWORD, next },
    });
    assert.equal(response.status, 303, `next ${JSON.stringify(next)}`);
    assert.equal(response.header("location"), "/notes", `next ${JSON.stringify(next)}`);
  }
});

test("wrong password and unknown email look the same", async (t) => {
  const events = recordSecurityEvents(t);
  const notes = await createTestApp(t);
  const client = new TestClient(notes.app);

  const wrongPassword = await client.post("/login", { form: { email: ALICE, password: "wrong", next: "/admin" } });
  const unknownEmail = await client.post("/login", {
    form: { email: "nobody@example.com", password: "wrong", next: "/admin" },
  });

  for (const response of [wrongPassword, unknownEmail]) {
    assert.equal(response.status, 400);
    assert.match(
      response.text,
      new RegExp(`<p id="login-error" class="form-error" role="alert">${LOGIN_FAILED_MESSAGE}`),
    );
    assert.match(response.text, /<input type="hidden" name="next" value="\/admin" \/>/);
    assert.doesNotMatch(response.text, /wrong/, "the password is never shown again");
    assert.deepEqual(response.cookies, [], "a failed login leaves the session alone");
  }
  assert.equal(wrongPassword.text.replace(ALICE, "EMAIL"), unknownEmail.text.replace("nobody@example.com", "EMAIL"));
  assert.equal((await client.get("/dashboard")).status, 302);

  const failures = events.filter((event) => event.name === "auth.login.failure");
  assert.equal(failures.length, 2);
  assert.doesNotMatch(JSON.stringify(events), /wrong|nobody/);
});

test("empty or missing login fields fail", async (t) => {
  const notes = await createTestApp(t);
  const client = new TestClient(notes.app);

  const forms: Record<string, string>[] = [
    {},
    { email: ALICE },
    { password: DEMO_PASSWORD },
    { email: " ", password: DEMO_PASSWORD },
    { email: ALICE, password: "" },
  ];
  for (const form of forms) {
    const response = await client.post("/login", { form });
    assert.equal(response.status, 400, JSON.stringify(form));
    assert.match(response.text, new RegExp(LOGIN_FAILED_MESSAGE));
  }
  const overLong = await client.post("/login", { form: { email: ALICE, password: "x".repeat(5000) } });
  assert.equal(overLong.status, 400);
  assert.equal((await client.get("/dashboard")).status, 302);
});

test("unknown email costs a password check", async (t) => {
  // A cost high enough that one scrypt verification is far slower than the rest of a request.
  const notes = await createTestApp(t, { scryptLogN: 13 });
  const client = new TestClient(notes.app);
  const time = async (email: string): Promise<number> => {
    const start = performance.now();
    const response = await client.post("/login", { form: { email, password: "wrong" } });
    assert.equal(response.status, 400);
    return performance.now() - start;
  };

  const known: number[] = [];
  const unknown: number[] = [];
  for (let round = 0; round < 5; round++) {
    known.push(await time(ALICE));
    unknown.push(await time(`nobody${String(round)}@example.com`));
  }

  // Without the dummy hash, a login with an unknown email would take well under a tenth of the time.
  assert.ok(
    median(unknown) > median(known) / 3,
    `unknown email ${median(unknown).toFixed(1)} ms, wrong password ${median(known).toFixed(1)} ms`,
  );
});

test("logged-in user visiting login is redirected", async (t) => {
  const { client } = await createClient(t);

  const response = await client.get("/login?next=%2Fdashboard");
  const unsafe = await client.get("/login?next=https%3A%2F%2Fevil.example");

  assert.equal(response.status, 303);
  assert.equal(response.header("location"), "/dashboard");
  assert.equal(unsafe.header("location"), "/notes");
});

test("dashboard redirects to login when logged out", async (t) => {
  const notes = await createTestApp(t);

  const response = await new TestClient(notes.app).get("/dashboard");

  assert.equal(response.status, 302);
  assert.equal(response.header("location"), "/login?next=%2Fdashboard");
});

test("htmx request to guarded route gets HX-Redirect", async (t) => {
  const notes = await createTestApp(t);

  const response = await new TestClient(notes.app).post("/notes", {
    form: { text: "anonymous" },
    headers: { ...HTMX, "hx-current-url": "http://testserver/notes" },
  });

  assert.equal(response.status, 401);
  assert.equal(response.header("hx-redirect"), "/login?next=%2Fnotes");
  assert.equal(response.header("location"), undefined);
  assert.equal(notes.store.count(), 0);
});

test("header shows user name and logout", async (t) => {
  const notes = await createTestApp(t);
  const anonymous = await new TestClient(notes.app).get("/");
  const client = new TestClient(notes.app);
  await logIn(client);

  const page = await client.get("/");

  assert.match(anonymous.text, /<a href="\/login">Log in<\/a>/);
  assert.doesNotMatch(anonymous.text, /action="\/logout"/);
  assert.match(page.text, /<span class="user-name">Alice<\/span>/);
  assert.match(page.text, /<form class="logout-form" method="post" action="\/logout">/);
  assert.doesNotMatch(page.text, /href="\/admin"/, "Alice is no admin");
});

test("logout ends access", async (t) => {
  const events = recordSecurityEvents(t);
  const { client } = await createClient(t);
  assert.equal((await client.get("/dashboard")).status, 200);

  const response = await client.post("/logout");

  assert.equal(response.status, 303);
  assert.equal(response.header("location"), "/");
  const home = await client.get("/");
  assert.match(home.text, /<p class="flash" role="status">You have logged out\.<\/p>/);
  assert.match(home.text, /<a href="\/login">Log in<\/a>/);
  assert.equal((await client.get("/dashboard")).status, 302);
  assert.equal((await client.get("/notes")).status, 302);
  assert.ok(events.some((event) => event.name === "auth.logout.success"));
});

test("pre-login session cookie does not authenticate", async (t) => {
  const notes = await createTestApp(t);
  const client = new TestClient(notes.app);
  // Logging out without a login stores a flash message, which gives an anonymous session cookie.
  const before = sessionCookieValue(await client.post("/logout"));

  const after = sessionCookieValue(await logIn(client));

  assert.notEqual(after, before);
  assert.equal((await clientWithSessionCookie(notes, before).get("/dashboard")).status, 302);
  assert.equal((await clientWithSessionCookie(notes, after).get("/dashboard")).status, 200);
});

test("session version bump logs out sessions", async (t) => {
  const events = recordSecurityEvents(t);
  const notes = await createTestApp(t);
  const laptop = new TestClient(notes.app);
  const phone = new TestClient(notes.app);
  await logIn(laptop);
  await logIn(phone);
  assert.equal((await laptop.get("/dashboard")).status, 200);

  assert.equal(notes.users.bumpSessionVersion(userOf(notes, ALICE).id), true);

  assert.equal((await laptop.get("/dashboard")).status, 302);
  assert.equal((await phone.get("/dashboard")).status, 302);
  assert.ok(events.some((event) => event.name === "auth.session.version_mismatch"));
  // A new login stores the new version and works again.
  await logIn(laptop);
  assert.equal((await laptop.get("/dashboard")).status, 200);
});

// Admin page and users

test("admin page is for admins only", async (t) => {
  const notes = await createTestApp(t);
  const alice = new TestClient(notes.app);
  const admin = new TestClient(notes.app);
  await logIn(alice);
  await logIn(admin, ADMIN);
  notes.store.add(ownerIdOf(notes, ALICE), "one");
  notes.store.add(ownerIdOf(notes, ALICE), "two");

  const anonymous = await new TestClient(notes.app).get("/admin");
  const denied = await alice.get("/admin");
  const page = await admin.get("/admin");

  assert.equal(anonymous.status, 302);
  assert.equal(anonymous.header("location"), "/login?next=%2Fadmin");
  assert.equal(denied.status, 403);
  assert.doesNotMatch(denied.text, /alice@example\.com|admin@example\.com/);
  assert.equal(page.status, 200);
  assert.match(page.text, /<a href="\/admin">Admin<\/a>/);
  assert.match(
    page.text,
    /<td>Alice<\/td>\s*<td>alice@example\.com<\/td>\s*<td>user<\/td>\s*<td class="count">2<\/td>/,
  );
  assert.match(
    page.text,
    /<td>Admin<\/td>\s*<td>admin@example\.com<\/td>\s*<td>admin<\/td>\s*<td class="count">0<\/td>/,
  );
});

test("user names are escaped", async (t) => {
  const notes = await createTestApp(t);
  const name = `<img src=x onerror="alert(1)"> & 'Mallory'`;
  const escaped = "&lt;img src=x onerror=&quot;alert(1)&quot;&gt; &amp; &#39;Mallory&#39;";
  await notes.users.create({ email: "mallory@example.com", name, password: DEMO_PASSWORD });
  const mallory = new TestClient(notes.app);
  const admin = new TestClient(notes.app);
  await logIn(mallory, "mallory@example.com");
  await logIn(admin, ADMIN);

  const pages = [
    await mallory.get("/notes"),
    await mallory.get("/dashboard"),
    await mallory.get("/"),
    await admin.get("/admin"),
  ];

  for (const page of pages) {
    assert.equal(page.status, 200);
    assert.ok(page.text.includes(escaped), "the name appears escaped");
    assert.doesNotMatch(page.text, /<img/);
  }
});

test("demo accounts have the given password", async (t) => {
  const notes = await createTestApp(t);

  assert.deepEqual(notes.demoAccounts, { emails: [ALICE, ADMIN], password: DEMO_PASSWORD });
  assert.deepEqual(userOf(notes, ALICE).permissions, []);
  assert.deepEqual(userOf(notes, ADMIN).permissions, ["admin"]);
  await logIn(new TestClient(notes.app), ADMIN);
});

test("demo password defaults to random", async (t) => {
  const first = await createTestApp(t, { demoPassword: undefined });
  const second = await createTestApp(t, { demoPassword: undefined });

  const password = first.demoAccounts?.password ?? "";
  assert.match(password, /^[A-Za-z0-9_-]{16}$/);
  assert.notEqual(second.demoAccounts?.password, password);
  await logIn(new TestClient(first.app), ALICE, password);
});

test("invalid password options stop start-up", async () => {
  const base = { databasePath: IN_MEMORY, env: "test", secretKey: SECRET_KEY } as const;

  await assert.rejects(createNotesApp({ ...base, demoPassword: "" }), ConfigurationError);
  await assert.rejects(createNotesApp({ ...base, demoPassword: "x".repeat(1025) }), /demoPassword/);
  for (const scryptLogN of [0, 21, 1.5, Number.NaN]) {
    await assert.rejects(createNotesApp({ ...base, scryptLogN }), /Invalid scryptLogN/);
  }
});

// Database files

test("file database keeps notes and users across restarts", async (t) => {
  const directory = await mkdtemp(join(tmpdir(), "chirp-notes-"));
  t.after(() => rm(directory, { recursive: true, force: true }));
  // A folder that does not exist yet, as examples/notes/data/ on the first start.
  const databasePath = join(directory, "data", "notes.sqlite3");
  const options = { databasePath, env: "test", secretKey: SECRET_KEY, scryptLogN: TEST_SCRYPT_LOG_N } as const;

  const first = await createNotesApp({ ...options, demoPassword: DEMO_PASSWORD });
  first.store.add(ownerIdOf(first, ALICE), "persisted");
  await first.close();

  const second = await createNotesApp({ ...options, demoPassword: "another password" });
  t.after(() => second.close());
  assert.equal(second.demoAccounts, null, "the accounts exist already");
  assert.equal(second.users.count(), 2);
  const client = new TestClient(second.app);
  await logIn(client, ALICE, DEMO_PASSWORD);
  const page = await client.get("/notes");
  assert.match(page.text, /persisted/);
});

test("old database without note owners still starts", async (t) => {
  const directory = await mkdtemp(join(tmpdir(), "chirp-notes-"));
  t.after(() => rm(directory, { recursive: true, force: true }));
  const databasePath = join(directory, "notes.sqlite3");
  const old = new Database(databasePath);
  old.exec(`
    CREATE TABLE notes (
      id INTEGER PRIMARY KEY AUTOINCREMENT,
      text TEXT NOT NULL CHECK (length(text) > 0),
      created_at TEXT NOT NULL
    );
    INSERT INTO notes (text, created_at) VALUES ('from before users', '2024-12-01T00:00:00.000Z');
  `);
  old.close();
  const logger = captureLogger();

  const notes = await createTestApp(t, { databasePath, logger });

  assert.equal(notes.store.count(), 0);
  assert.equal(logger.entries.length, 1);
  assert.match(logger.entries[0]?.message ?? "", /renamed to notes_without_owner/);
  const client = new TestClient(notes.app);
  await logIn(client);
  assert.equal((await client.post("/notes", { form: { text: "new" } })).status, 303);
  assert.doesNotMatch((await client.get("/notes")).text, /from before users/);

  await notes.close();
  const reopened = new Database(databasePath, { readonly: true });
  t.after(() => reopened.close());
  const ownerlessNotes = reopened.prepare(`SELECT text FROM ${OWNERLESS_NOTES_TABLE}`).all();
  assert.deepEqual(ownerlessNotes, [{ text: "from before users" }]);
});

test("real server serves the home page", async (t) => {
  const notes = await createTestApp(t);

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

test("real server logs in with a cookie", async (t) => {
  const notes = await createTestApp(t);
  const server = await notes.app.listen({ port: 0, host: "127.0.0.1" });
  const { port } = server.address() as AddressInfo;
  const origin = `http://127.0.0.1:${String(port)}`;

  const login = await fetch(`${origin}/login`, {
    method: "POST",
    body: new URLSearchParams({ email: ALICE, password: DEMO_PASSWORD, next: "/dashboard" }),
    redirect: "manual",
    signal: AbortSignal.timeout(5000),
  });
  const cookie = (login.headers.get("set-cookie") ?? "").split(";")[0] ?? "";
  const dashboard = await fetch(`${origin}/dashboard`, {
    headers: { cookie },
    redirect: "manual",
    signal: AbortSignal.timeout(5000),
  });
  const body = await dashboard.text();
  await notes.close();

  assert.equal(login.status, 303);
  assert.equal(login.headers.get("location"), "/dashboard");
  assert.match(cookie, /^chirp_session=./);
  assert.equal(dashboard.status, 200);
  assert.match(body, /You are logged in as Alice/);
});

import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { test, type TestContext } from "node:test";
import Database from "better-sqlite3";
import {
  allowedHostsFromEnv,
  createNotesApp,
  LOCAL_HOSTS,
  NOTES_PER_PAGE,
  type NotesApp,
  type NotesAppOptions,
} from "../../examples/notes/app.js";
import { IN_MEMORY, OWNERLESS_NOTES_TABLE } from "../../examples/notes/database.js";
import { LOGIN_FAILED_MESSAGE } from "../../examples/notes/routes/auth.js";
import type { NotesUser } from "../../examples/notes/users.js";
import { MAX_NOTE_LENGTH } from "../../examples/notes/validation.js";
import { ConfigurationError } from "../../src/index.js";
import { setSecurityEventSink, type SecurityEvent } from "../../src/security/index.js";
import { extractCsrfToken, TestClient, type TestResponse } from "../../src/testing/index.js";
import { captureLogger } from "../helpers.js";

const HTMX = { "hx-request": "true" };
const TEST_HOST = "testserver";
const FIXED_NOW = new Date("2025-01-31T09:30:15.000Z");
const SECRET_KEY = "notes-test-secret-key-that-is-long-enough-0123456789";
const DEMO_PASSWORD = "correct horse battery staple";
const ALICE = "alice@example.com";
const ADMIN = "admin@example.com";
const WRONG_PASSWORD = "not the password 42";

async function createTestApp(t: TestContext, options: Partial<NotesAppOptions> = {}): Promise<NotesApp> {
  const notes = await createNotesApp({
    databasePath: IN_MEMORY,
    env: "test",
    now: () => FIXED_NOW,
    secretKey: SECRET_KEY,
    demoPassword: DEMO_PASSWORD,
    allowedHosts: [TEST_HOST],
    ...options,
  });
  t.after(() => notes.close());
  return notes;
}

/** Returns the headers of an htmx request, with the CSRF token as `hx-headers` on `<body>` sends it. */
function htmxHeaders(token: string): Record<string, string> {
  return { ...HTMX, "x-csrf-token": token };
}

/** Posts the login form as a browser does, token from the login page included. */
async function postLogin(client: TestClient, form: Record<string, string>): Promise<TestResponse> {
  const token = await client.csrfToken("/login");
  return client.post("/login", { form: { _csrf_token: token, ...form } });
}

/** Logs `client` in through the login form and checks that the login succeeded. */
async function logIn(client: TestClient, email = ALICE, password = DEMO_PASSWORD): Promise<TestResponse> {
  const response = await postLogin(client, { email, password });
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

interface LoggedInClient {
  notes: NotesApp;
  client: TestClient;
  alice: number;
  /** A CSRF token of the client's session, read from the notes page after login. */
  token: string;
}

/**
 * Creates an app and a client logged in as Alice, with a CSRF token of her session. Reading
 * the token renders the notes page, which shows and removes the login flash message.
 */
async function createClient(t: TestContext): Promise<LoggedInClient> {
  const notes = await createTestApp(t);
  const client = new TestClient(notes.app);
  await logIn(client);
  const token = await client.csrfToken("/notes");
  return { notes, client, alice: ownerIdOf(notes, ALICE), token };
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

/**
 * Replaces the per-render values of a page, CSRF tokens (86 base64url characters) and CSP
 * nonces, so two renders of the same page compare equal.
 */
function withoutPerRenderValues(html: string): string {
  return html.replace(/[A-Za-z0-9_-]{86}/g, "TOKEN").replace(/nonce="[A-Za-z0-9+/=]+"/g, 'nonce="NONCE"');
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
  const { notes, client, token } = await createClient(t);
  const text = "<script>alert(\"x\")</script> & 'more'";

  const response = await client.post("/notes", { form: { _csrf_token: token, text } });

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
  // createClient read the notes page for the token, which showed and removed the login flash.
  const { client, token } = await createClient(t);

  const saved = await client.post("/notes", { form: { _csrf_token: token, text: "remember the milk" } });
  assert.equal(saved.status, 303);
  assert.equal(saved.cookies.length, 1, "the session cookie carries the message");

  const page = await client.get("/notes");
  assert.match(page.text, /<p class="flash" role="status">Note saved\.<\/p>/);

  const again = await client.get("/notes");
  assert.doesNotMatch(again.text, /class="flash"/);
});

test("flash message is private to its session", async (t) => {
  const { notes, client, token } = await createClient(t);
  await client.get("/notes");
  await client.post("/notes", { form: { _csrf_token: token, text: "mine" } });

  const otherSession = new TestClient(notes.app);
  await logIn(otherSession);
  await otherSession.get("/notes");
  const page = await otherSession.get("/notes");
  assert.doesNotMatch(page.text, /class="flash"/);
});

test("POST trims text and normalises line breaks", async (t) => {
  const { notes, client, alice, token } = await createClient(t);

  await client.post("/notes", { form: { _csrf_token: token, text: "  line one\r\nline two \n" } });

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
  const { notes, client, alice, token } = await createClient(t);

  await client.post("/notes", { form: { _csrf_token: token, text: "written by alice" } });

  assert.equal(notes.store.count(alice), 1);
  assert.equal(notes.store.count(ownerIdOf(notes, ADMIN)), 0);
  const admin = new TestClient(notes.app);
  await logIn(admin, ADMIN);
  assert.doesNotMatch((await admin.get("/notes")).text, /written by alice/);
});

test("htmx POST returns only the note fragment", async (t) => {
  const { notes, client, token } = await createClient(t);

  const response = await client.post("/notes", {
    form: { _csrf_token: token, text: "<b>bold</b>" },
    headers: htmxHeaders(token),
  });

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
  const { notes, client, token } = await createClient(t);

  for (const text of ["", "   ", "\r\n\t\n"]) {
    const plain = await client.post("/notes", { form: { _csrf_token: token, text } });
    assert.equal(plain.status, 422, `plain POST of ${JSON.stringify(text)}`);
    assert.match(plain.text, /<html/);
    assert.match(plain.text, /The note is empty\. Write some text before adding it\./);

    const htmx = await client.post("/notes", { form: { _csrf_token: token, text }, headers: htmxHeaders(token) });
    assert.equal(htmx.status, 422, `htmx POST of ${JSON.stringify(text)}`);
    assert.doesNotMatch(htmx.text, /<html/);
    assert.match(htmx.text, /<p id="note-error"[^>]*>The note is empty\./);
    assert.equal(htmx.header("hx-retarget"), "#note-error");
    assert.equal(htmx.header("hx-reswap"), "outerHTML");
  }
  assert.equal(notes.store.count(), 0);
});

test("over-long notes are rejected", async (t) => {
  const { notes, client, token } = await createClient(t);
  const text = "a".repeat(MAX_NOTE_LENGTH + 1);

  const plain = await client.post("/notes", { form: { _csrf_token: token, text } });
  assert.equal(plain.status, 422);
  assert.match(plain.text, /The note is 2,001 characters long, but the maximum is 2,000\./);
  // The form shows the text again, so the user can shorten it instead of typing it anew.
  assert.match(plain.text, new RegExp(`<textarea[^>]*>\\s*${text}</textarea>`));

  const htmx = await client.post("/notes", { form: { _csrf_token: token, text }, headers: htmxHeaders(token) });
  assert.equal(htmx.status, 422);
  assert.doesNotMatch(htmx.text, /<html/);
  assert.match(htmx.text, /The note is 2,001 characters long/);

  assert.equal(notes.store.count(), 0);
});

test("note of maximum length is accepted", async (t) => {
  const { notes, client, token } = await createClient(t);

  const ascii = await client.post("/notes", { form: { _csrf_token: token, text: "a".repeat(MAX_NOTE_LENGTH) } });
  // Each emoji is one code point but two UTF-16 code units, and the limit counts code points.
  const emoji = await client.post("/notes", { form: { _csrf_token: token, text: "🐦".repeat(MAX_NOTE_LENGTH) } });

  assert.equal(ascii.status, 303);
  assert.equal(emoji.status, 303);
  assert.equal(notes.store.count(), 2);
});

test("missing text field is rejected", async (t) => {
  const { notes, client, token } = await createClient(t);

  const response = await client.post("/notes", { form: { _csrf_token: token, other: "value" } });

  assert.equal(response.status, 400);
  assert.match(response.text, /The form has no text field/);
  assert.equal(notes.store.count(), 0);
});

test("non-form body is rejected", async (t) => {
  const { notes, client, token } = await createClient(t);

  // The token goes in the header, as htmx sends it, so the CSRF check passes and the handler sees the body.
  const response = await client.post("/notes", { json: { text: "hello" }, headers: { "x-csrf-token": token } });

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
  const { notes, client, alice, token } = await createClient(t);
  const note = notes.store.add(alice, "to delete");

  const response = await client.delete(`/notes/${String(note.id)}`, { headers: htmxHeaders(token) });

  assert.equal(response.status, 200);
  assert.equal(response.text, "");
  assert.equal(notes.store.count(), 0);
});

test("DELETE of unknown note is 404", async (t) => {
  const { notes, client, alice, token } = await createClient(t);
  notes.store.add(alice, "stays");

  for (const id of ["999", "0", "-1", "1.5", "abc", "1e3", "99999999999999999999"]) {
    const response = await client.delete(`/notes/${id}`, { headers: htmxHeaders(token) });
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
  const { client, token } = await createClient(t);

  const responses = [
    await client.get("/notes/999/edit"),
    await client.post("/notes/999", { form: { _csrf_token: token, text: "new text" } }),
    await client.post("/notes/999/delete", { form: { _csrf_token: token } }),
    await client.delete("/notes/999", { headers: { "x-csrf-token": token } }),
  ];

  for (const response of responses) assert.equal(response.status, 404);
});

test("DELETE twice is 404 the second time", async (t) => {
  const { notes, client, alice, token } = await createClient(t);
  const note = notes.store.add(alice, "once");

  const first = await client.delete(`/notes/${String(note.id)}`, { headers: { "x-csrf-token": token } });
  const second = await client.delete(`/notes/${String(note.id)}`, { headers: { "x-csrf-token": token } });

  assert.equal(first.status, 200);
  assert.equal(second.status, 404);
});

test("plain POST delete redirects", async (t) => {
  const { notes, client, alice, token } = await createClient(t);
  const note = notes.store.add(alice, "to delete");

  const response = await client.post(`/notes/${String(note.id)}/delete`, { form: { _csrf_token: token } });
  const unknown = await client.post("/notes/999/delete", { form: { _csrf_token: token } });

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
  const { notes, client, alice, token } = await createClient(t);
  const note = notes.store.add(alice, "before");

  const response = await client.post(`/notes/${String(note.id)}`, {
    form: { _csrf_token: token, text: "  after\r\n" },
  });

  assert.equal(response.status, 303);
  assert.equal(response.header("location"), "/notes");
  assert.equal(notes.store.find(note.id)?.text, "after");
  assert.match((await client.get("/notes")).text, /<p class="flash" role="status">Note saved\.<\/p>/);
});

test("htmx POST saves an edit and returns the note", async (t) => {
  const { notes, client, alice, token } = await createClient(t);
  const note = notes.store.add(alice, "before");

  const response = await client.post(`/notes/${String(note.id)}`, {
    form: { _csrf_token: token, text: "after" },
    headers: htmxHeaders(token),
  });

  assert.equal(response.status, 200);
  assert.doesNotMatch(response.text, /<html/);
  assert.match(response.text, /^\s*<li id="note-1" class="note">\s*<p class="note-text">after<\/p>/);
  assert.equal(notes.store.find(note.id)?.text, "after");
});

test("invalid edit shows the form again", async (t) => {
  const { notes, client, alice, token } = await createClient(t);
  const note = notes.store.add(alice, "unchanged");
  const path = `/notes/${String(note.id)}`;

  const plain = await client.post(path, { form: { _csrf_token: token, text: "   " } });
  const htmx = await client.post(path, { form: { _csrf_token: token, text: "" }, headers: htmxHeaders(token) });
  const missing = await client.post(path, { form: { _csrf_token: token, other: "value" } });

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
  const { notes, client, token } = await createClient(t);
  const note = notes.store.add(ownerIdOf(notes, ADMIN), "admin's note");
  const path = `/notes/${String(note.id)}`;

  const responses = [
    await client.get(`${path}/edit`),
    await client.get(`${path}/edit`, { headers: HTMX }),
    await client.post(path, { form: { _csrf_token: token, text: "changed by alice" } }),
    await client.post(path, { form: { _csrf_token: token, text: "changed by alice" }, headers: htmxHeaders(token) }),
    await client.delete(path, { headers: htmxHeaders(token) }),
    await client.post(`${path}/delete`, { form: { _csrf_token: token } }),
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
  // Anonymous visitors get a CSRF token too, so the requests below reach the login check.
  const token = await client.csrfToken("/");

  const list = await client.get("/notes");
  const create = await client.post("/notes", { form: { _csrf_token: token, text: "anonymous" } });
  const edit = await client.get(`/notes/${String(note.id)}/edit`);
  // An anonymous request learns nothing about which ids exist: unknown ids redirect too.
  const unknown = await client.delete("/notes/999", { headers: { "x-csrf-token": token } });

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

  const response = await postLogin(client, { email: ALICE, password: DEMO_PASSWORD, next: "/dashboard?tab=notes" });

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

  const response = await postLogin(client, { email: "  Alice@Example.COM ", password: DEMO_PASSWORD });

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
    const response = await postLogin(new TestClient(notes.app), { email: ALICE, password: DEMO_PASSWORD, next });
    assert.equal(response.status, 303, `next ${JSON.stringify(next)}`);
    assert.equal(response.header("location"), "/notes", `next ${JSON.stringify(next)}`);
  }
});

test("wrong password and unknown email look the same", async (t) => {
  const events = recordSecurityEvents(t);
  const notes = await createTestApp(t);
  const client = new TestClient(notes.app);

  const wrongPassword = await postLogin(client, { email: ALICE, password: WRONG_PASSWORD, next: "/admin" });
  const unknownEmail = await postLogin(client, {
    email: "nobody@example.com",
    password: WRONG_PASSWORD,
    next: "/admin",
  });

  for (const response of [wrongPassword, unknownEmail]) {
    assert.equal(response.status, 400);
    assert.match(
      response.text,
      new RegExp(`<p id="login-error" class="form-error" role="alert">${LOGIN_FAILED_MESSAGE}`),
    );
    assert.match(response.text, /<input type="hidden" name="next" value="\/admin" \/>/);
    assert.ok(!response.text.includes(WRONG_PASSWORD), "the password is never shown again");
    assert.deepEqual(response.cookies, [], "a failed login leaves the session alone");
  }
  assert.equal(
    withoutPerRenderValues(wrongPassword.text).replace(ALICE, "EMAIL"),
    withoutPerRenderValues(unknownEmail.text).replace("nobody@example.com", "EMAIL"),
  );
  assert.equal((await client.get("/dashboard")).status, 302);

  const failures = events.filter((event) => event.name === "auth.login.failure");
  assert.equal(failures.length, 2);
  // The events name the normalised email and the reason, as audit.md documents, never the password.
  assert.deepEqual(
    failures.map((event) => event.details),
    [
      { identifier: ALICE, reason: "wrong_password" },
      { identifier: "nobody@example.com", reason: "unknown_identifier" },
    ],
  );
  assert.ok(!JSON.stringify(events).includes(WRONG_PASSWORD));
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
    const response = await postLogin(client, form);
    assert.equal(response.status, 400, JSON.stringify(form));
    assert.match(response.text, new RegExp(LOGIN_FAILED_MESSAGE));
  }
  const overLong = await postLogin(client, { email: ALICE, password: "x".repeat(5000) });
  assert.equal(overLong.status, 400);
  assert.equal((await client.get("/dashboard")).status, 302);
});

test("unknown email costs a password check", async (t) => {
  // One argon2id verification (about 20 ms here) is far slower than the rest of a request.
  // The generous limits keep the lockout and the rate limit out of the measurement.
  const notes = await createTestApp(t, { lockout: { maxFailures: 100 }, authRateLimit: { requests: 100 } });
  const client = new TestClient(notes.app);
  const token = await client.csrfToken("/login");
  const time = async (email: string): Promise<number> => {
    const start = performance.now();
    const response = await client.post("/login", { form: { _csrf_token: token, email, password: "wrong" } });
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

test("lockout after repeated failures", async (t) => {
  const events = recordSecurityEvents(t);
  const notes = await createTestApp(t, { lockout: { maxFailures: 3, baseLockSeconds: 60 } });
  const client = new TestClient(notes.app);

  const failures: TestResponse[] = [];
  for (let attempt = 0; attempt < 3; attempt++) {
    failures.push(await postLogin(client, { email: ALICE, password: WRONG_PASSWORD }));
  }
  const locked = await postLogin(client, { email: ALICE, password: DEMO_PASSWORD });

  for (const response of failures.slice(0, 2)) {
    assert.equal(response.status, 400);
    assert.match(response.text, new RegExp(`role="alert">${LOGIN_FAILED_MESSAGE}</p>`));
  }
  // The third failure starts the lock, and even the right password is refused while it lasts.
  for (const response of [failures[2]!, locked]) {
    assert.equal(response.status, 400);
    assert.match(response.text, new RegExp(`role="alert">${LOGIN_FAILED_MESSAGE} Try again in 60 seconds\\.</p>`));
    assert.deepEqual(response.cookies, []);
  }
  assert.equal(
    withoutPerRenderValues(locked.text).replace(/ Try again in \d+ seconds\./, ""),
    withoutPerRenderValues(failures[0]!.text),
    "a locked account gets the same page as a wrong password, apart from the wait",
  );
  assert.equal((await client.get("/dashboard")).status, 302);
  assert.equal(events.filter((event) => event.name === "auth.lockout.locked").length, 1);
  // The lock is per email: the admin can still log in from the same client.
  await logIn(new TestClient(notes.app), ADMIN);
});

test("lockout treats unknown emails alike", async (t) => {
  const notes = await createTestApp(t, { lockout: { maxFailures: 2, baseLockSeconds: 60 } });
  const client = new TestClient(notes.app);

  await postLogin(client, { email: "nobody@example.com", password: WRONG_PASSWORD });
  const unknown = await postLogin(client, { email: "NOBODY@example.com ", password: WRONG_PASSWORD });
  await postLogin(client, { email: ALICE, password: WRONG_PASSWORD });
  const known = await postLogin(client, { email: ALICE, password: WRONG_PASSWORD });

  for (const response of [unknown, known]) {
    assert.equal(response.status, 400);
    assert.match(response.text, /Email or password is incorrect\. Try again in 60 seconds\./);
  }
});

test("rate limit answers 429 with Retry-After", async (t) => {
  const events = recordSecurityEvents(t);
  const notes = await createTestApp(t, { authRateLimit: { requests: 3, windowSeconds: 60, blockSeconds: 120 } });
  const client = new TestClient(notes.app);
  const other = new TestClient(notes.app, { remoteAddress: "192.0.2.7" });

  const statuses: number[] = [];
  for (let attempt = 0; attempt < 3; attempt++) {
    statuses.push((await postLogin(client, { email: ALICE, password: WRONG_PASSWORD })).status);
  }
  const blocked = await postLogin(client, { email: ALICE, password: DEMO_PASSWORD });

  assert.deepEqual(statuses, [400, 400, 400]);
  assert.equal(blocked.status, 429);
  assert.equal(blocked.header("retry-after"), "120");
  assert.deepEqual(blocked.cookies, [], "the login handler did not run");
  assert.equal((await client.get("/dashboard")).status, 302);
  assert.equal(events.filter((event) => event.name === "auth.rate_limit.blocked").length, 1);
  // GET is not counted, and another client address has its own allowance.
  assert.equal((await client.get("/login")).status, 200);
  await logIn(other);
});

test("rate limit counts POSTs without token", async (t) => {
  const notes = await createTestApp(t, { authRateLimit: { requests: 2 } });
  const client = new TestClient(notes.app);

  const rejected = [
    await client.post("/login", { form: { email: ALICE, password: WRONG_PASSWORD } }),
    await client.post("/login", { form: { _csrf_token: "forged", email: ALICE, password: WRONG_PASSWORD } }),
  ];
  const afterwards = await postLogin(client, { email: ALICE, password: DEMO_PASSWORD });

  assert.deepEqual(
    rejected.map((response) => response.status),
    [403, 403],
  );
  assert.equal(afterwards.status, 429);
  assert.ok(Number(afterwards.header("retry-after")) > 0);
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

  const client = new TestClient(notes.app);
  const token = await client.csrfToken("/");

  const response = await client.post("/notes", {
    form: { text: "anonymous" },
    headers: { ...htmxHeaders(token), "hx-current-url": "http://testserver/notes" },
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
  const { client, token } = await createClient(t);
  assert.equal((await client.get("/dashboard")).status, 200);

  const response = await client.post("/logout", { form: { _csrf_token: token } });

  assert.equal(response.status, 303);
  assert.equal(response.header("location"), "/");
  const home = await client.get("/");
  assert.match(home.text, /<p class="flash" role="status">You have logged out\.<\/p>/);
  assert.match(home.text, /<a href="\/login">Log in<\/a>/);
  assert.equal((await client.get("/dashboard")).status, 302);
  assert.equal((await client.get("/notes")).status, 302);
  assert.ok(events.some((event) => event.name === "auth.logout.success"));
});

test("copied cookie stops working after logout", async (t) => {
  const notes = await createTestApp(t);
  const client = new TestClient(notes.app);
  const copied = sessionCookieValue(await logIn(client));
  assert.equal((await clientWithSessionCookie(notes, copied).get("/dashboard")).status, 200);

  const token = await client.csrfToken("/dashboard");
  assert.equal((await client.post("/logout", { form: { _csrf_token: token } })).status, 303);

  assert.equal((await clientWithSessionCookie(notes, copied).get("/dashboard")).status, 302);
});

test("pre-login session cookie does not authenticate", async (t) => {
  const notes = await createTestApp(t);
  const client = new TestClient(notes.app);
  // The login page stores a CSRF secret in the session, which gives an anonymous session cookie.
  const before = sessionCookieValue(await client.get("/login"));

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

test("invalid demo password stops start-up", async () => {
  const base = { databasePath: IN_MEMORY, env: "test", secretKey: SECRET_KEY } as const;

  await assert.rejects(createNotesApp({ ...base, demoPassword: "" }), ConfigurationError);
  await assert.rejects(createNotesApp({ ...base, demoPassword: "x".repeat(1025) }), /demoPassword/);
});

// CSRF protection

test("writes without a token are 403", async (t) => {
  const events = recordSecurityEvents(t);
  const { notes, client, alice } = await createClient(t);
  const note = notes.store.add(alice, "unchanged");
  const path = `/notes/${String(note.id)}`;

  const responses: [string, TestResponse][] = [
    ["POST /notes", await client.post("/notes", { form: { text: "new" } })],
    ["htmx POST /notes", await client.post("/notes", { form: { text: "new" }, headers: HTMX })],
    ["POST /notes/:id", await client.post(path, { form: { text: "changed" } })],
    ["htmx POST /notes/:id", await client.post(path, { form: { text: "changed" }, headers: HTMX })],
    ["POST /notes/:id/delete", await client.post(`${path}/delete`)],
    ["DELETE /notes/:id", await client.delete(path, { headers: HTMX })],
    ["POST /logout", await client.post("/logout")],
    ["empty token", await client.post("/notes", { form: { _csrf_token: "", text: "new" } })],
  ];

  for (const [name, response] of responses) {
    assert.equal(response.status, 403, name);
    assert.match(response.text, /The form has expired or was sent from another site/, name);
    assert.deepEqual(response.cookies, [], `${name} leaves the session alone`);
  }
  assert.equal(notes.store.count(), 1);
  assert.equal(notes.store.find(note.id)?.text, "unchanged");
  assert.equal((await client.get("/dashboard")).status, 200, "the failed logout left Alice logged in");
  const rejections = events.filter((event) => event.name === "csrf.reject.missing");
  assert.equal(rejections.length, responses.length);
});

test("wrong or foreign tokens are 403", async (t) => {
  const { notes, client, alice, token } = await createClient(t);
  const admin = new TestClient(notes.app);
  await logIn(admin, ADMIN);
  const adminToken = await admin.csrfToken("/notes");
  // One changed character in the middle keeps the token well-formed but changes the secret it
  // unmasks to. The last character would not do: two of its six bits are padding.
  const altered = token.slice(0, 40) + (token[40] === "A" ? "B" : "A") + token.slice(41);

  for (const wrong of [adminToken, altered, "not-a-token", token.slice(0, 43), "🐦".repeat(43), `${token} `]) {
    const plain = await client.post("/notes", { form: { _csrf_token: wrong, text: "new" } });
    const header = await client.post("/notes", { form: { text: "new" }, headers: htmxHeaders(wrong) });
    assert.equal(plain.status, 403, `form field ${JSON.stringify(wrong)}`);
    assert.equal(header.status, 403, `header ${JSON.stringify(wrong)}`);
  }
  assert.equal(notes.store.count(alice), 0);
});

test("htmx header wins over form field", async (t) => {
  const { notes, client, token } = await createClient(t);

  // htmx sends both when the form has csrf_field(), and the header is checked first.
  const header = await client.post("/notes", {
    form: { _csrf_token: "stale", text: "from htmx" },
    headers: htmxHeaders(token),
  });

  assert.equal(header.status, 200);
  assert.equal(notes.store.count(), 1);
});

test("every token of a session is valid", async (t) => {
  const { notes, client } = await createClient(t);

  const first = await client.csrfToken("/notes");
  const second = await client.csrfToken("/dashboard");

  // Each render masks the secret with a fresh pad, so the tokens differ and both work.
  assert.notEqual(first, second);
  assert.match(first, /^[A-Za-z0-9_-]{86}$/);
  for (const token of [first, second]) {
    const response = await client.post("/notes", { form: { _csrf_token: token, text: "note" } });
    assert.equal(response.status, 303);
  }
  assert.equal(notes.store.count(), 2);
});

test("login without token is 403", async (t) => {
  const events = recordSecurityEvents(t);
  const notes = await createTestApp(t);
  const client = new TestClient(notes.app);

  const response = await client.post("/login", { form: { email: ALICE, password: DEMO_PASSWORD } });

  assert.equal(response.status, 403);
  assert.deepEqual(response.cookies, [], "no session is started");
  assert.equal(client.cookie("chirp_session"), undefined);
  assert.equal((await client.get("/dashboard")).status, 302);
  assert.ok(!events.some((event) => event.name === "auth.login.success"));
  assert.ok(events.some((event) => event.name === "csrf.reject.missing"));
});

test("login with another visitor's token is 403", async (t) => {
  const notes = await createTestApp(t);
  const attacker = new TestClient(notes.app);
  const victim = new TestClient(notes.app);
  // The attacker has a session and a valid token of their own; the victim has none.
  const attackerToken = await attacker.csrfToken("/login");
  await victim.get("/");

  const response = await victim.post("/login", {
    form: { _csrf_token: attackerToken, email: ALICE, password: DEMO_PASSWORD },
  });

  assert.equal(response.status, 403);
  assert.equal((await victim.get("/dashboard")).status, 302);
});

test("token from before login stops working", async (t) => {
  const notes = await createTestApp(t);
  const client = new TestClient(notes.app);
  const anonymousToken = await client.csrfToken("/login");
  await client.post("/login", { form: { _csrf_token: anonymousToken, email: ALICE, password: DEMO_PASSWORD } });

  const stale = await client.post("/notes", { form: { _csrf_token: anonymousToken, text: "with the old token" } });
  const token = await client.csrfToken("/notes");
  const fresh = await client.post("/notes", { form: { _csrf_token: token, text: "with the new token" } });

  assert.equal(stale.status, 403);
  assert.equal(fresh.status, 303);
  assert.equal(notes.store.count(), 1);

  await client.post("/logout", { form: { _csrf_token: token } });
  const afterLogout = await client.post("/logout", { form: { _csrf_token: token } });
  assert.equal(afterLogout.status, 403, "logout replaces the secret too");
});

test("cross-origin POST with valid token is 403", async (t) => {
  const events = recordSecurityEvents(t);
  const { notes, client, token } = await createClient(t);

  const crossOrigin: Record<string, string>[] = [
    { origin: "http://evil.example" },
    { origin: "https://testserver", "sec-fetch-site": "same-origin" },
    { origin: "http://testserver.evil.example" },
    { origin: "null" },
    { "sec-fetch-site": "cross-site" },
    { "sec-fetch-site": "same-site", origin: "http://sub.testserver" },
  ];
  for (const headers of crossOrigin) {
    const plain = await client.post("/notes", { form: { _csrf_token: token, text: "forged" }, headers });
    const htmx = await client.post("/notes", {
      form: { text: "forged" },
      headers: { ...htmxHeaders(token), ...headers },
    });
    assert.equal(plain.status, 403, JSON.stringify(headers));
    assert.equal(htmx.status, 403, `htmx ${JSON.stringify(headers)}`);
  }
  assert.equal(notes.store.count(), 0);
  const rejections = events.filter((event) => event.name === "csrf.reject.origin");
  assert.equal(rejections.length, crossOrigin.length * 2);

  // The same request from the app's own origin goes through.
  const sameOrigin = await client.post("/notes", {
    form: { _csrf_token: token, text: "mine" },
    headers: { origin: "http://testserver", "sec-fetch-site": "same-origin" },
  });
  assert.equal(sameOrigin.status, 303);
  assert.equal(notes.store.count(), 1);
});

test("cross-origin login is 403", async (t) => {
  const notes = await createTestApp(t);
  const client = new TestClient(notes.app);
  const token = await client.csrfToken("/login");

  const response = await client.post("/login", {
    form: { _csrf_token: token, email: ALICE, password: DEMO_PASSWORD },
    headers: { origin: "http://evil.example", "sec-fetch-site": "cross-site" },
  });

  assert.equal(response.status, 403);
  assert.deepEqual(response.cookies, []);
  assert.equal((await client.get("/dashboard")).status, 302);
});

test("forms and fragments carry the token", async (t) => {
  const { notes, client, alice, token } = await createClient(t);
  const note = notes.store.add(alice, "a note, so the list markup is rendered");
  const field = /<input type="hidden" name="_csrf_token" value="[A-Za-z0-9_-]{86}">/;

  const pages = [
    await client.get("/notes"),
    await client.get(`/notes/${String(note.id)}/edit`),
    await client.get(`/notes/${String(note.id)}/edit`, { headers: HTMX }),
    await client.post("/notes", { form: { text: "added with htmx" }, headers: htmxHeaders(token) }),
    await new TestClient(notes.app).get("/login"),
  ];

  for (const page of pages) {
    const forms = page.text.match(/<form\b[\s\S]*?<\/form>/g) ?? [];
    assert.ok(forms.length > 0, page.text.slice(0, 80));
    for (const form of forms) assert.match(form, field, form.slice(0, 120));
  }
  assert.match((await client.get("/")).text, /<meta name="csrf-token" content="[A-Za-z0-9_-]{86}" \/>/);
  assert.match((await client.get("/")).text, /<body hx-headers='\{"x-csrf-token": "[A-Za-z0-9_-]{86}"\}'>/);
  // A DELETE sends its fields in the query string, so the htmx delete form sends none.
  assert.match(pages[0]!.text, /hx-delete="\/notes\/1"\s+hx-params="none"/);
});

// Security headers and hosts

/** Parses a Content-Security-Policy header into directive names and their sources. */
function parseCspHeader(value: string | undefined): Map<string, string[]> {
  assert.ok(value, "the response has a Content-Security-Policy");
  const directives = new Map<string, string[]>();
  for (const part of value.split(";")) {
    const [name = "", ...sources] = part.trim().split(/\s+/);
    directives.set(name, sources);
  }
  return directives;
}

/** Returns the nonce of a directive's `'nonce-…'` source, checking that it has exactly one. */
function nonceOf(directives: Map<string, string[]>, name: string): string {
  const nonces = (directives.get(name) ?? []).filter((source) => source.startsWith("'nonce-"));
  assert.equal(nonces.length, 1, `${name} has one nonce`);
  return nonces[0]!.slice("'nonce-".length, -1);
}

function assertSecurityHeaders(response: TestResponse, name: string): void {
  assert.equal(response.header("x-frame-options"), "DENY", name);
  assert.equal(response.header("x-content-type-options"), "nosniff", name);
  assert.equal(response.header("referrer-policy"), "strict-origin-when-cross-origin", name);
  assert.equal(response.header("cross-origin-opener-policy"), "same-origin", name);
  const csp = parseCspHeader(response.header("content-security-policy"));
  assert.deepEqual(csp.get("frame-ancestors"), ["'none'"], name);
  assert.match(nonceOf(csp, "script-src"), /^[A-Za-z0-9+/]{22}==$/, name);
}

test("pages have strict CSP with nonce", async (t) => {
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
  const nonces = new Set<string>();
  for (const [client, path] of pages) {
    const page = await client.get(path);
    assert.equal(page.status, 200, path);
    const csp = parseCspHeader(page.header("content-security-policy"));
    for (const name of ["script-src", "style-src"]) {
      const sources = csp.get(name) ?? [];
      assert.ok(sources.includes("'self'"), `${path}: ${name} allows files of this origin`);
      assert.ok(!sources.includes("'unsafe-inline'"), `${path}: ${name} has no 'unsafe-inline'`);
      assert.ok(!sources.includes("'unsafe-eval'"), `${path}: ${name} has no 'unsafe-eval'`);
    }
    assert.deepEqual(csp.get("default-src"), ["'self'"], path);
    assert.deepEqual(csp.get("object-src"), ["'none'"], path);
    assert.deepEqual(csp.get("base-uri"), ["'self'"], path);
    assert.deepEqual(csp.get("form-action"), ["'self'"], path);
    const nonce = nonceOf(csp, "script-src");
    assert.equal(nonceOf(csp, "style-src"), nonce, path);
    nonces.add(nonce);

    const scripts = [...page.text.matchAll(/<script\b([^>]*)>([\s\S]*?)<\/script>/g)];
    assert.equal(scripts.length, 2, `${path} loads htmx and its script`);
    for (const [tag, attributes = "", body = ""] of scripts) {
      assert.equal(body.trim(), "", `${path}: ${tag} has no inline code`);
      assert.match(attributes, new RegExp(`\\snonce="${nonce.replace(/[+/]/g, "\\$&")}"`), `${path}: ${tag}`);
    }
  }
  assert.equal(nonces.size, pages.length, "every response has its own nonce");
});

test("security headers on every response", async (t) => {
  const { notes, client, token } = await createClient(t);
  const adminNote = notes.store.add(ownerIdOf(notes, ADMIN), "admin's note");

  const responses: [string, TestResponse][] = [
    ["page", await client.get("/notes")],
    ["htmx fragment", await client.post("/notes", { form: { text: "new" }, headers: htmxHeaders(token) })],
    ["redirect", await client.post("/notes", { form: { _csrf_token: token, text: "new" } })],
    ["422", await client.post("/notes", { form: { _csrf_token: token, text: " " } })],
    ["404", await client.get("/no-such-page")],
    ["404 note", await client.get("/notes/999/edit")],
    ["403 guard", await client.get("/admin")],
    ["403 policy", await client.get(`/notes/${String(adminNote.id)}/edit`)],
    ["403 CSRF", await client.post("/notes", { form: { text: "no token" } })],
    ["403 CSRF JSON", await client.post("/notes", { json: {}, headers: { accept: "application/json" } })],
    ["405", await client.put("/notes")],
    ["415", await client.post("/notes", { json: {}, headers: { "x-csrf-token": token } })],
    ["401 htmx", await new TestClient(notes.app).get("/notes", { headers: HTMX })],
    ["400 host", await client.get("/", { headers: { host: "evil.example" } })],
    ["stylesheet", await client.get("/static/notes.css")],
  ];

  for (const [name, response] of responses) assertSecurityHeaders(response, name);
  assert.equal(responses[4]?.[1].status, 404);
  assert.equal(responses[6]?.[1].status, 403);
  assert.equal(responses[8]?.[1].status, 403);
  assert.equal(responses[13]?.[1].status, 400);
  for (const [name, response] of responses) {
    assert.equal(response.header("strict-transport-security"), undefined, `${name} over plain HTTP has no HSTS`);
  }
});

test("HSTS only over HTTPS", async (t) => {
  const notes = await createTestApp(t);

  const secure = await new TestClient(notes.app, { baseUrl: "https://testserver" }).get("/");
  const notFound = await new TestClient(notes.app, { baseUrl: "https://testserver" }).get("/missing");
  const plain = await new TestClient(notes.app).get("/");

  assert.equal(secure.header("strict-transport-security"), "max-age=63072000; includeSubDomains");
  assert.equal(notFound.header("strict-transport-security"), "max-age=63072000; includeSubDomains");
  assert.equal(plain.header("strict-transport-security"), undefined);
});

test("unknown Host is 400", async (t) => {
  const events = recordSecurityEvents(t);
  const notes = await createTestApp(t);
  const client = new TestClient(notes.app);
  const token = await client.csrfToken("/login");

  for (const host of ["evil.example", "testserver.evil.example", "localhost", "evil.example:80", "", "test server"]) {
    const page = await client.get("/", { headers: { host } });
    const login = await client.post("/login", {
      form: { _csrf_token: token, email: ALICE, password: DEMO_PASSWORD },
      headers: { host },
    });
    assert.equal(page.status, 400, `GET with Host ${JSON.stringify(host)}`);
    assert.match(page.text, /Unknown host/);
    assert.equal(login.status, 400, `POST with Host ${JSON.stringify(host)}`);
    assert.deepEqual(login.cookies, [], "no session is started");
  }
  assert.equal((await client.get("/dashboard")).status, 302, "no login went through");
  assert.ok(!events.some((event) => event.name === "auth.login.success"));
  assert.equal(events.filter((event) => event.name === "host.reject").length, 12);

  for (const host of ["testserver", "TESTSERVER", "testserver.", "testserver:8443"]) {
    assert.equal((await client.get("/", { headers: { host } })).status, 200, `Host ${host}`);
  }
});

test("allowed hosts default to this machine", async (t) => {
  const saved = process.env.NOTES_ALLOWED_HOSTS;
  delete process.env.NOTES_ALLOWED_HOSTS;
  t.after(() => {
    if (saved !== undefined) process.env.NOTES_ALLOWED_HOSTS = saved;
  });
  const notes = await createTestApp(t, { allowedHosts: undefined });

  for (const baseUrl of ["http://localhost:8000", "http://127.0.0.1", "http://[::1]:3000", "http://LOCALHOST"]) {
    const response = await new TestClient(notes.app, { baseUrl }).get("/");
    assert.equal(response.status, 200, baseUrl);
  }
  for (const baseUrl of ["http://testserver", "http://127.0.0.2", "http://localhost.evil.example", "http://[::2]"]) {
    const response = await new TestClient(notes.app, { baseUrl }).get("/");
    assert.equal(response.status, 400, baseUrl);
  }
});

test("NOTES_ALLOWED_HOSTS sets the hosts", async (t) => {
  const saved = process.env.NOTES_ALLOWED_HOSTS;
  process.env.NOTES_ALLOWED_HOSTS = " notes.example.com , .example.org,";
  t.after(() => {
    if (saved === undefined) delete process.env.NOTES_ALLOWED_HOSTS;
    else process.env.NOTES_ALLOWED_HOSTS = saved;
  });
  const notes = await createTestApp(t, { allowedHosts: undefined });

  const status = async (baseUrl: string): Promise<number> =>
    (await new TestClient(notes.app, { baseUrl }).get("/")).status;
  assert.equal(await status("https://notes.example.com"), 200);
  assert.equal(await status("https://example.org"), 200);
  assert.equal(await status("https://www.example.org"), 200);
  assert.equal(await status("http://localhost"), 400);
  assert.equal(await status("https://example.com"), 400);
});

test("allowedHostsFromEnv parses the list", () => {
  assert.deepEqual(allowedHostsFromEnv(undefined), LOCAL_HOSTS);
  assert.deepEqual(allowedHostsFromEnv(""), LOCAL_HOSTS);
  assert.deepEqual(allowedHostsFromEnv("  "), LOCAL_HOSTS);
  assert.deepEqual(allowedHostsFromEnv("a.example"), ["a.example"]);
  assert.deepEqual(allowedHostsFromEnv(" a.example ,b.example:8443,, "), ["a.example", "b.example:8443"]);
  assert.throws(() => allowedHostsFromEnv(","), /Invalid NOTES_ALLOWED_HOSTS ",": list host names/);
});

test("invalid allowed hosts stop start-up", async (t) => {
  const saved = process.env.NOTES_ALLOWED_HOSTS;
  t.after(() => {
    if (saved === undefined) delete process.env.NOTES_ALLOWED_HOSTS;
    else process.env.NOTES_ALLOWED_HOSTS = saved;
  });
  const base = { databasePath: IN_MEMORY, env: "test", secretKey: SECRET_KEY } as const;

  await assert.rejects(createNotesApp({ ...base, allowedHosts: ["*"] }), /Invalid host in the allowedHosts option/);
  await assert.rejects(createNotesApp({ ...base, allowedHosts: [] }), ConfigurationError);
  await assert.rejects(
    createNotesApp({ ...base, allowedHosts: ["https://notes.example.com"] }),
    /"https:\/\/notes\.example\.com" is not a host name/,
  );
  for (const value of ["*", "notes.example.com, bad host", ", ,"]) {
    process.env.NOTES_ALLOWED_HOSTS = value;
    await assert.rejects(createNotesApp(base), /NOTES_ALLOWED_HOSTS/, value);
  }
});

// Production start-up

test("production starts with CSRF and a secret", async (t) => {
  const notes = await createTestApp(t, { env: "production" });
  // HTTPS, because production session cookies are Secure.
  const client = new TestClient(notes.app, { baseUrl: "https://testserver" });

  await logIn(client);
  const token = await client.csrfToken("/notes");
  const saved = await client.post("/notes", { form: { _csrf_token: token, text: "in production" } });

  assert.equal(notes.app.env, "production");
  assert.equal(saved.status, 303);
  assert.equal(notes.store.count(), 1);
  const cookie = saved.cookies.find((value) => value.startsWith("chirp_session=")) ?? "";
  assert.match(cookie, /; Secure/i);
});

test("production without a secret refuses to start", async (t) => {
  const saved = process.env.CHIRP_SECRET_KEY;
  delete process.env.CHIRP_SECRET_KEY;
  t.after(() => {
    if (saved !== undefined) process.env.CHIRP_SECRET_KEY = saved;
  });

  await assert.rejects(
    createNotesApp({
      databasePath: IN_MEMORY,
      env: "production",
      allowedHosts: [TEST_HOST],
      demoPassword: DEMO_PASSWORD,
    }),
    (error: unknown) => {
      assert.ok(error instanceof ConfigurationError);
      assert.match(error.message, /The secret key is missing: pass secretKey or set CHIRP_SECRET_KEY/);
      assert.match(error.message, /npx chirp secret/);
      return true;
    },
  );
});

// Database files

test("file database keeps notes and users across restarts", async (t) => {
  const directory = await mkdtemp(join(tmpdir(), "chirp-notes-"));
  t.after(() => rm(directory, { recursive: true, force: true }));
  // A folder that does not exist yet, as examples/notes/data/ on the first start.
  const databasePath = join(directory, "data", "notes.sqlite3");
  const options = {
    databasePath,
    env: "test",
    secretKey: SECRET_KEY,
    allowedHosts: [TEST_HOST],
  } as const;

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
  const token = await client.csrfToken("/notes");
  assert.equal((await client.post("/notes", { form: { _csrf_token: token, text: "new" } })).status, 303);
  assert.doesNotMatch((await client.get("/notes")).text, /from before users/);

  await notes.close();
  const reopened = new Database(databasePath, { readonly: true });
  t.after(() => reopened.close());
  const ownerlessNotes = reopened.prepare(`SELECT text FROM ${OWNERLESS_NOTES_TABLE}`).all();
  assert.deepEqual(ownerlessNotes, [{ text: "from before users" }]);
});

test("real server serves the home page", async (t) => {
  const notes = await createTestApp(t, { allowedHosts: ["127.0.0.1"] });

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
  const notes = await createTestApp(t, { allowedHosts: ["127.0.0.1"] });
  const server = await notes.app.listen({ port: 0, host: "127.0.0.1" });
  const { port } = server.address() as AddressInfo;
  const origin = `http://127.0.0.1:${String(port)}`;

  // The login page starts an anonymous session that holds the CSRF secret of its form.
  const loginPage = await fetch(`${origin}/login`, { signal: AbortSignal.timeout(5000) });
  const anonymousCookie = (loginPage.headers.get("set-cookie") ?? "").split(";")[0] ?? "";
  const token = extractCsrfToken(await loginPage.text()) ?? "";
  const login = await fetch(`${origin}/login`, {
    method: "POST",
    headers: { cookie: anonymousCookie, origin },
    body: new URLSearchParams({ _csrf_token: token, email: ALICE, password: DEMO_PASSWORD, next: "/dashboard" }),
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

  assert.match(anonymousCookie, /^chirp_session=./);
  assert.notEqual(token, "");
  assert.equal(login.status, 303);
  assert.equal(login.headers.get("location"), "/dashboard");
  assert.match(cookie, /^chirp_session=./);
  assert.notEqual(cookie, anonymousCookie, "login moves the session to a new cookie");
  assert.equal(dashboard.status, 200);
  assert.match(body, /You are logged in as Alice/);
});

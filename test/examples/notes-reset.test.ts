import assert from "node:assert/strict";
import { test } from "node:test";
import type { NotesApp } from "../../examples/notes/app.js";
import { extractCsrfToken, TestClient } from "../../src/testing/index.js";
import { captureLogger } from "../helpers.js";
import {
  ALICE,
  createTestApp,
  DEMO_PASSWORD,
  logIn,
  postForm,
  recordSecurityEvents,
  SECRET_KEY,
  TEST_HOST,
} from "./notes-helpers.js";

const PUBLIC_ORIGIN = "https://notes.example.com";
const NEW_PASSWORD = "a brand new password";
const RESET_SENT = /If an account exists for that email, we sent a link to reset its password\./;
const INVALID_LINK = /This reset link is invalid or has expired\./;

/** Replaces CSRF tokens and CSP nonces, which differ on every render. */
function withoutPerRenderValues(html: string): string {
  return html.replace(/[A-Za-z0-9_-]{86}/g, "TOKEN").replace(/nonce="[A-Za-z0-9+/=]+"/g, 'nonce="NONCE"');
}

/** Requests a reset link for `email` and returns the path and query of the link in the outbox. */
async function requestReset(notes: NotesApp, email: string, client = new TestClient(notes.app)): Promise<string> {
  const before = notes.outbox.messages().length;
  const response = await postForm(client, "/password-reset", { email });
  assert.equal(response.status, 200);
  const messages = notes.outbox.messages();
  assert.equal(messages.length, before + 1, `a message for ${email} is in the outbox`);
  const link = messages[0]?.link ?? "";
  assert.ok(link.startsWith(`${PUBLIC_ORIGIN}/password-reset/confirm?token=`), link);
  return link.slice(PUBLIC_ORIGIN.length);
}

/** Opens the reset link and submits the new password, as a browser does. */
async function setNewPassword(client: TestClient, path: string, password = NEW_PASSWORD) {
  const page = await client.get(path);
  assert.equal(page.status, 200, "the link opens the form");
  const token = new URL(path, "http://testserver").searchParams.get("token") ?? "";
  const csrfToken = extractCsrfToken(page.text);
  assert.ok(csrfToken, "the form carries a CSRF token");
  return client.post("/password-reset/confirm", {
    form: { _csrf_token: csrfToken, token, password, confirm: password },
  });
}

test("reset page is the same for unknown emails", async (t) => {
  const notes = await createTestApp(t, { publicOrigin: PUBLIC_ORIGIN });
  const client = new TestClient(notes.app);

  const known = await postForm(client, "/password-reset", { email: ALICE });
  const unknown = await postForm(client, "/password-reset", { email: "nobody@example.com" });
  const empty = await postForm(client, "/password-reset", { email: "" });

  for (const response of [known, unknown, empty]) {
    assert.equal(response.status, 200);
    assert.match(response.text, RESET_SENT);
  }
  assert.equal(withoutPerRenderValues(known.text), withoutPerRenderValues(unknown.text));
  assert.equal(notes.outbox.messages().length, 1, "only the known email gets mail");
  assert.equal(notes.outbox.messages()[0]?.to, ALICE);
});

test("reset request without email field is 400", async (t) => {
  const notes = await createTestApp(t, { publicOrigin: PUBLIC_ORIGIN });

  const response = await postForm(new TestClient(notes.app), "/password-reset", {});

  assert.equal(response.status, 400);
  assert.match(response.text, /The form has no email field/);
  assert.equal(notes.outbox.messages().length, 0);
});

test("reset link ignores the Host header", async (t) => {
  const logger = captureLogger();
  const notes = await createTestApp(t, {
    publicOrigin: PUBLIC_ORIGIN,
    allowedHosts: [TEST_HOST, "other.example"],
    logger,
  });
  const client = new TestClient(notes.app);
  const token = await client.csrfToken("/password-reset");

  const response = await client.post("/password-reset", {
    form: { _csrf_token: token, email: ALICE },
    headers: { host: "other.example", origin: "http://other.example" },
  });

  assert.equal(response.status, 200);
  const link = notes.outbox.messages()[0]?.link ?? "";
  assert.ok(link.startsWith(`${PUBLIC_ORIGIN}/password-reset/confirm?token=`), link);
  assert.ok(!notes.outbox.messages()[0]?.text.includes("other.example"));
  const logged = logger.entries.find((entry) => entry.message.startsWith("Password reset link"));
  assert.ok(logged?.message.includes(link), "development and test logs show the link");
});

test("default public origin is npm start's", async (t) => {
  const notes = await createTestApp(t);

  await postForm(new TestClient(notes.app), "/password-reset", { email: ALICE });

  assert.match(notes.outbox.messages()[0]?.link ?? "", /^http:\/\/127\.0\.0\.1:8000\/password-reset\/confirm\?token=/);
});

test("reset token works once", async (t) => {
  const events = recordSecurityEvents(t);
  const notes = await createTestApp(t, { publicOrigin: PUBLIC_ORIGIN });
  const path = await requestReset(notes, ALICE);
  const client = new TestClient(notes.app);

  const response = await setNewPassword(client, path);

  assert.equal(response.status, 303);
  assert.equal(response.header("location"), "/login");
  assert.match((await client.get("/login")).text, /Your password has been reset\. Log in with the new password\./);
  await logIn(new TestClient(notes.app), ALICE, NEW_PASSWORD);
  const old = await postForm(new TestClient(notes.app), "/login", { email: ALICE, password: DEMO_PASSWORD });
  assert.equal(old.status, 400, "the old password no longer works");

  const again = await client.get(path);
  assert.equal(again.status, 400, "a used link is invalid");
  assert.match(again.text, INVALID_LINK);
  const token = new URL(path, "http://testserver").searchParams.get("token") ?? "";
  const replay = await postForm(client, "/password-reset/confirm", {
    token,
    password: "another password",
    confirm: "another password",
  });
  assert.equal(replay.status, 400, "a used token cannot set the password again");
  await logIn(new TestClient(notes.app), ALICE, NEW_PASSWORD);

  const names = events.map((event) => event.name);
  assert.ok(names.includes("password.reset.requested"));
  assert.ok(names.includes("password.reset.completed"));
  assert.ok(names.includes("password.reset.invalid"));
  assert.ok(!JSON.stringify(events).includes(token), "events never contain the token");
});

test("reset token expires after an hour", async (t) => {
  let now = new Date("2025-01-31T09:30:00.000Z");
  const notes = await createTestApp(t, { publicOrigin: PUBLIC_ORIGIN, now: () => now });
  const path = await requestReset(notes, ALICE);
  const client = new TestClient(notes.app);

  now = new Date(now.getTime() + 3599_000);
  assert.equal((await client.get(path)).status, 200, "still valid just before the hour ends");
  now = new Date(now.getTime() + 2_000);
  const expired = await client.get(path);

  assert.equal(expired.status, 400);
  assert.match(expired.text, INVALID_LINK);
});

test("tampered or missing tokens are rejected", async (t) => {
  const notes = await createTestApp(t, { publicOrigin: PUBLIC_ORIGIN });
  const path = await requestReset(notes, ALICE);
  const token = new URL(path, "http://testserver").searchParams.get("token") ?? "";
  const client = new TestClient(notes.app);
  const other = await createTestApp(t, { publicOrigin: PUBLIC_ORIGIN, secretKey: `${SECRET_KEY}-other` });
  const otherPath = await requestReset(other, ALICE);
  // A character in the middle of the signature: the last one also carries unused padding bits.
  const position = token.length - 10;
  const tampered = token.slice(0, position) + (token[position] === "A" ? "B" : "A") + token.slice(position + 1);

  const paths = [
    "/password-reset/confirm",
    "/password-reset/confirm?token=",
    `/password-reset/confirm?token=${encodeURIComponent(tampered)}`,
    `/password-reset/confirm?token=${encodeURIComponent(token)}x`,
    otherPath,
    `/password-reset/confirm?token=${"a".repeat(5000)}`,
  ];
  for (const candidate of paths) {
    const response = await client.get(candidate);
    assert.equal(response.status, 400, candidate.slice(0, 80));
    assert.match(response.text, INVALID_LINK);
  }
});

test("reset logs out other sessions", async (t) => {
  const notes = await createTestApp(t, { publicOrigin: PUBLIC_ORIGIN });
  const laptop = new TestClient(notes.app);
  await logIn(laptop);
  const path = await requestReset(notes, ALICE);

  await setNewPassword(new TestClient(notes.app), path);

  assert.equal((await laptop.get("/dashboard")).status, 302);
});

test("reset validates the new password", async (t) => {
  const notes = await createTestApp(t, { publicOrigin: PUBLIC_ORIGIN });
  const path = await requestReset(notes, ALICE);
  const client = new TestClient(notes.app);

  const response = await setNewPassword(client, path, "short");

  assert.equal(response.status, 422);
  assert.match(response.text, /at least 8 characters/);
  assert.equal((await client.get(path)).status, 200, "the link still works after a mistake");
});

test("reset clears the login lockout", async (t) => {
  const notes = await createTestApp(t, { publicOrigin: PUBLIC_ORIGIN, lockout: { maxFailures: 1 } });
  const locked = await postForm(new TestClient(notes.app), "/login", { email: ALICE, password: "not it at all" });
  assert.match(locked.text, /Try again in \d+ seconds/);

  await setNewPassword(new TestClient(notes.app), await requestReset(notes, ALICE));

  await logIn(new TestClient(notes.app), ALICE, NEW_PASSWORD);
});

test("outbox lists the mail", async (t) => {
  const notes = await createTestApp(t, { publicOrigin: PUBLIC_ORIGIN });
  const client = new TestClient(notes.app);
  const empty = await client.get("/outbox");
  await requestReset(notes, ALICE);

  const page = await client.get("/outbox");

  assert.equal(empty.status, 200);
  assert.match(empty.text, /No messages yet\./);
  assert.equal(page.status, 200);
  assert.match(page.text, /<h2>Reset your password<\/h2>/);
  assert.match(page.text, /To alice@example\.com/);
  assert.match(
    page.text,
    /<a href="https:\/\/notes\.example\.com\/password-reset\/confirm\?token=[^"]+">Open the link<\/a>/,
  );
});

test("outbox is 404 in production", async (t) => {
  const notes = await createTestApp(t, { env: "production", publicOrigin: PUBLIC_ORIGIN });
  // HTTPS, because production session cookies are Secure.
  const client = new TestClient(notes.app, { baseUrl: "https://testserver" });

  assert.equal((await postForm(client, "/password-reset", { email: ALICE })).status, 200);
  assert.equal(notes.outbox.messages().length, 1);

  assert.equal((await client.get("/outbox")).status, 404);
});

test("production logs omit the reset link", async (t) => {
  const logger = captureLogger();
  const notes = await createTestApp(t, { env: "production", publicOrigin: PUBLIC_ORIGIN, logger });

  const client = new TestClient(notes.app, { baseUrl: "https://testserver" });
  assert.equal((await postForm(client, "/password-reset", { email: ALICE })).status, 200);

  const token = new URL(notes.outbox.messages()[0]?.link ?? "").searchParams.get("token") ?? "";
  assert.ok(token.length > 0);
  assert.ok(!JSON.stringify(logger.entries).includes(token));
  assert.ok(logger.entries.some((entry) => entry.message === "Password reset link queued in the outbox"));
});

test("outbox keeps only the newest messages", async () => {
  const { Outbox } = await import("../../examples/notes/outbox.js");
  const outbox = new Outbox(2);

  for (const subject of ["one", "two", "three"]) {
    outbox.send({ to: ALICE, subject, text: subject, sentAt: "2025-01-31T09:30:00.000Z" });
  }

  assert.deepEqual(
    outbox.messages().map((message) => message.subject),
    ["three", "two"],
  );
  for (const size of [0, -1, 1.5, Number.NaN]) assert.throws(() => new Outbox(size), RangeError);
});

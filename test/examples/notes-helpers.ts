import assert from "node:assert/strict";
import type { TestContext } from "node:test";
import { createNotesApp, type NotesApp, type NotesAppOptions } from "../../examples/notes/app.js";
import { IN_MEMORY } from "../../examples/notes/database.js";
import { setSecurityEventSink, type SecurityEvent } from "../../src/security/index.js";
import type { TestClient, TestResponse } from "../../src/testing/index.js";

/** Shared by the notes tests on accounts, password reset and security events. */
export const TEST_HOST = "testserver";
export const SECRET_KEY = "notes-test-secret-key-that-is-long-enough-0123456789";
export const DEMO_PASSWORD = "correct horse battery staple";
export const ALICE = "alice@example.com";
export const ADMIN = "admin@example.com";

/** Creates the notes app on a private in-memory database and closes it after the test. */
export async function createTestApp(t: TestContext, options: Partial<NotesAppOptions> = {}): Promise<NotesApp> {
  const notes = await createNotesApp({
    databasePath: IN_MEMORY,
    env: "test",
    secretKey: SECRET_KEY,
    demoPassword: DEMO_PASSWORD,
    allowedHosts: [TEST_HOST],
    ...options,
  });
  t.after(() => notes.close());
  return notes;
}

/** Fetches `path` for a CSRF token and posts `form` there with it, as a browser submits a form. */
export async function postForm(client: TestClient, path: string, form: Record<string, string>): Promise<TestResponse> {
  const token = await client.csrfToken(path);
  return client.post(path, { form: { _csrf_token: token, ...form } });
}

/** Logs `client` in through the login form and checks that the login succeeded. */
export async function logIn(client: TestClient, email = ALICE, password = DEMO_PASSWORD): Promise<TestResponse> {
  const response = await postForm(client, "/login", { email, password });
  assert.equal(response.status, 303, `login of ${email} failed with ${String(response.status)}`);
  return response;
}

/** Sends every security event of the test to the returned list, and resets the process-wide sink after it. */
export function recordSecurityEvents(t: TestContext): SecurityEvent[] {
  const events: SecurityEvent[] = [];
  setSecurityEventSink((event) => {
    events.push(event);
  });
  t.after(() => setSecurityEventSink(null));
  return events;
}

import assert from "node:assert/strict";
import { Writable } from "node:stream";
import { test, type TestContext } from "node:test";
import type { NotesApp, NotesAppOptions } from "../../examples/notes/app.js";
import { setSecurityEventSink } from "../../src/security/index.js";
import { TestClient } from "../../src/testing/index.js";
import { captureLogger } from "../helpers.js";
import { ADMIN, ALICE, createTestApp, logIn } from "./notes-helpers.js";

/** A stream that keeps what is written to it, as the JSON-lines sink writes to stdout. */
class CapturingStream extends Writable {
  text = "";

  override _write(chunk: Buffer | string, _encoding: BufferEncoding, callback: () => void): void {
    this.text += chunk.toString();
    callback();
  }

  lines(): Record<string, unknown>[] {
    return this.text
      .split("\n")
      .filter((line) => line !== "")
      .map((line) => JSON.parse(line) as Record<string, unknown>);
  }
}

/** Creates an app whose security event sink is installed, and removes the process-wide sink after the test. */
async function createInstalledApp(t: TestContext, options: Partial<NotesAppOptions> = {}): Promise<NotesApp> {
  // close() removes the sink as well. This hook also covers a test that installed another one.
  t.after(() => setSecurityEventSink(null));
  return createTestApp(t, { installSecurityEventSink: true, ...options });
}

test("CSRF rejection is logged as JSON", async (t) => {
  const log = new CapturingStream();
  const notes = await createInstalledApp(t, { securityEvents: { log } });
  const client = new TestClient(notes.app);
  await logIn(client);

  const response = await client.post("/notes", { form: { text: "no token" } });

  assert.equal(response.status, 403);
  const rejection = log.lines().find((line) => line.name === "csrf.reject.missing");
  assert.ok(rejection, log.text);
  assert.deepEqual(Object.keys(rejection), [
    "name",
    "timestamp",
    "path",
    "method",
    "ip",
    "userId",
    "requestId",
    "details",
  ]);
  assert.equal(rejection.path, "/notes");
  assert.equal(rejection.method, "POST");
  assert.equal(rejection.ip, "127.0.0.1");
  assert.equal(rejection.userId, notes.users.findByEmail(ALICE)?.id);
  assert.match(String(rejection.requestId), /^[0-9a-f-]{36}$/);
  assert.ok(!Number.isNaN(Date.parse(String(rejection.timestamp))));
  assert.equal(typeof (rejection.details as { reason?: unknown }).reason, "string");
  assert.ok(!log.text.includes("chirp_session"), "no cookie values in the log");
  assert.ok(
    log.lines().some((line) => line.name === "auth.login.success"),
    "the log has every event, not only alerts",
  );
});

test("monitor warns once per spike", async (t) => {
  const logger = captureLogger();
  const log = new CapturingStream();
  const now = 1_700_000_000_000;
  const notes = await createInstalledApp(t, {
    logger,
    securityEvents: { log, thresholds: { "csrf.reject.*": 3 }, windowSeconds: 60, clock: () => now },
  });
  const client = new TestClient(notes.app);

  const statuses: number[] = [];
  for (let attempt = 0; attempt < 6; attempt++) {
    statuses.push((await client.post("/notes", { form: { text: "no token" } })).status);
  }

  assert.deepEqual(statuses, [403, 403, 403, 403, 403, 403]);
  const warnings = logger.entries.filter((entry) => entry.level === "warn");
  assert.equal(warnings.length, 1, JSON.stringify(warnings));
  const [warning] = warnings;
  assert.ok(warning);
  assert.match(warning.message, /^Spike of csrf\.reject\.\* security events: 3 in 60 s$/);
  assert.equal(warning.fields.pattern, "csrf.reject.*");
  assert.equal(warning.fields.threshold, 3);
});

test("metrics are for admins only", async (t) => {
  const notes = await createInstalledApp(t, { securityEvents: { log: new CapturingStream() } });
  const anonymous = new TestClient(notes.app);
  const alice = new TestClient(notes.app);
  const admin = new TestClient(notes.app);
  await logIn(alice);
  await logIn(admin, ADMIN);

  const redirected = await anonymous.get("/admin/metrics");
  const denied = await alice.get("/admin/metrics");
  const metrics = await admin.get("/admin/metrics");

  assert.equal(redirected.status, 302);
  assert.equal(denied.status, 403);
  assert.doesNotMatch(denied.text, /chirp_security_events_total/);
  assert.equal(metrics.status, 200);
  assert.match(metrics.header("content-type") ?? "", /^text\/plain; version=0\.0\.4/);
  assert.match(metrics.text, /^# TYPE chirp_security_events_total counter$/m);
  assert.match(metrics.text, /^chirp_security_events_total\{event="auth\.login\.success"\} 2$/m);
  assert.match(metrics.text, /^chirp_security_events_total\{event="authz\.permission\.denied"\} 1$/m);
});

test("admin page shows event counts", async (t) => {
  const notes = await createInstalledApp(t, { securityEvents: { log: new CapturingStream() } });
  const admin = new TestClient(notes.app);
  const before = await admin.get("/admin");
  await logIn(admin, ADMIN);
  await new TestClient(notes.app).post("/notes", { form: { text: "no token" } });

  const page = await admin.get("/admin");

  assert.equal(before.status, 302);
  assert.equal(page.status, 200);
  assert.match(page.text, /<td><code>auth\.login\.success<\/code><\/td>\s*<td class="count">1<\/td>/);
  assert.match(page.text, /<td><code>csrf\.reject\.missing<\/code><\/td>\s*<td class="count">1<\/td>/);
  assert.doesNotMatch(page.text, /<code>host\.reject<\/code>/, "events that never happened are left out");
});

test("sink is removed on close", async (t) => {
  const log = new CapturingStream();
  const notes = await createInstalledApp(t, { securityEvents: { log } });
  await notes.close();
  const other = await createTestApp(t);

  await new TestClient(other.app).post("/notes", { form: { text: "no token" } });

  assert.equal(log.text, "", "the closed app's sink no longer receives events");
});

import assert from "node:assert/strict";
import { afterEach, test } from "node:test";
import { App } from "../../src/index.js";
import { emitSecurityEvent, setSecurityEventSink } from "../../src/security/index.js";
import { resetSinkErrorLogForTests } from "../../src/security/audit.js";
import type { SecurityEvent } from "../../src/security/index.js";
import { TestClient } from "../../src/testing/index.js";
import { captureLogger } from "../helpers.js";

afterEach(() => {
  setSecurityEventSink(null);
  resetSinkErrorLogForTests();
});

test("event carries request facts", async () => {
  const events: SecurityEvent[] = [];
  setSecurityEventSink((event) => {
    events.push(event);
  });
  const app = new App({ env: "test" });
  app.post("/login", (req) => {
    emitSecurityEvent("auth.login.failure", { req, userId: "u1", details: { reason: "invalid" } });
    return "no";
  });
  await new TestClient(app, { remoteAddress: "198.51.100.7" }).post("/login");
  assert.equal(events.length, 1);
  const event = events[0]!;
  assert.equal(event.name, "auth.login.failure");
  assert.equal(event.path, "/login");
  assert.equal(event.method, "POST");
  assert.equal(event.ip, "198.51.100.7");
  assert.equal(event.userId, "u1");
  assert.deepEqual(event.details, { reason: "invalid" });
  assert.ok(!Number.isNaN(Date.parse(event.timestamp)));
});

test("throwing sink never breaks a request", async () => {
  const logger = captureLogger();
  setSecurityEventSink(() => {
    throw new Error("sink down");
  });
  const app = new App({ env: "test", logger });
  app.get("/", (req) => {
    emitSecurityEvent("host.reject", { req });
    return "still fine";
  });
  const response = await new TestClient(app).get("/");
  assert.equal(response.status, 200);
  assert.equal(response.text, "still fine");
  assert.equal(logger.entries[0]?.message, "Security event sink failed");
});

test("rejecting sink never breaks a request", async () => {
  const logger = captureLogger();
  setSecurityEventSink(() => Promise.reject(new Error("async sink down")));
  const app = new App({ env: "test", logger });
  app.get("/", (req) => {
    emitSecurityEvent("host.reject", { req });
    return "fine";
  });
  assert.equal((await new TestClient(app).get("/")).status, 200);
  await new Promise((resolve) => setImmediate(resolve));
  assert.equal(logger.entries.length, 1);
});

test("no sink means no work", () => {
  assert.doesNotThrow(() => {
    emitSecurityEvent("session.invalid");
  });
  const previous = setSecurityEventSink(() => {
    // No work.
  });
  assert.equal(previous, null);
});

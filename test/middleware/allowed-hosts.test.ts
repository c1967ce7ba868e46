import assert from "node:assert/strict";
import { afterEach, test } from "node:test";
import { App, ConfigurationError } from "../../src/index.js";
import { AllowedHostsMiddleware } from "../../src/middleware/index.js";
import { setSecurityEventSink, type SecurityEvent } from "../../src/security/index.js";
import { TestClient } from "../../src/testing/index.js";

const events: SecurityEvent[] = [];
afterEach(() => {
  setSecurityEventSink(null);
  events.length = 0;
});

function client(allowedHosts: string[]): { client: TestClient; calls: { count: number } } {
  setSecurityEventSink((event) => {
    events.push(event);
  });
  const calls = { count: 0 };
  const app = new App({ env: "test" });
  app.addMiddleware(new AllowedHostsMiddleware({ allowedHosts }));
  app.get("/", () => {
    calls.count += 1;
    return "ok";
  });
  return { client: new TestClient(app), calls };
}

test("allowed hosts pass", async () => {
  const { client: c } = client(["example.com", ".example.org", "api.example.net:8443", "[::1]", "127.0.0.1"]);
  for (const host of [
    "example.com",
    "EXAMPLE.com",
    "example.com:8000",
    "example.com.",
    "example.org",
    "www.example.org",
    "a.b.example.org:443",
    "api.example.net:8443",
    "[::1]:8000",
    "127.0.0.1:3000",
  ]) {
    assert.equal((await c.get("/", { headers: { host } })).status, 200, host);
  }
});

test("unknown hosts get 400", async () => {
  const { client: c, calls } = client(["example.com", ".example.org", "api.example.net:8443"]);
  for (const host of [
    "evil.example",
    "example.com.evil.example",
    "notexample.com",
    "evilexample.org",
    "api.example.net",
    "api.example.net:443",
    "www.example.com",
    "example.com:80:80",
    "example.com/path",
    "example.com@evil.example",
    "exa mple.com",
    "",
    "-example.com",
    "例え.jp",
    "a".repeat(300),
  ]) {
    const response = await c.get("/", { headers: { host } });
    assert.equal(response.status, 400, JSON.stringify(host));
  }
  assert.equal(calls.count, 0);
  assert.ok(events.length >= 15 && events.every((event) => event.name === "host.reject"));
});

test("missing host gets 400", async () => {
  const app = new App({ env: "test" });
  app.addMiddleware(new AllowedHostsMiddleware({ allowedHosts: ["example.com"] }));
  app.get("/", () => "ok");
  const response = await app.dispatch({
    method: "GET",
    url: "/",
    headers: {},
    body: null,
    remoteAddress: "127.0.0.1",
    encrypted: false,
  });
  assert.equal(response.status, 400);
});

test("host configuration errors", () => {
  assert.throws(() => new AllowedHostsMiddleware({ allowedHosts: [] }), ConfigurationError);
  assert.throws(() => new AllowedHostsMiddleware({ allowedHosts: ["*"] }), /cannot contain "\*"/);
  assert.throws(() => new AllowedHostsMiddleware({ allowedHosts: ["https://example.com"] }), /not a host name/);
  assert.throws(() => new AllowedHostsMiddleware({} as never), /needs allowedHosts/);
});

test("public origin comes from configuration", () => {
  const app = new App({ env: "test", publicOrigin: "https://notes.example.com" });
  assert.equal(app.publicUrl("/reset?token=x"), "https://notes.example.com/reset?token=x");
  assert.throws(() => new App({ env: "test" }).publicUrl("/x"), /publicOrigin option/);
  assert.throws(() => new App({ publicOrigin: "notes.example.com" }), /publicOrigin must be an origin/);
  assert.throws(() => new App({ publicOrigin: "https://notes.example.com/app" }), /without a path/);
  assert.throws(() => app.publicUrl("//evil.example"), ConfigurationError);
});

import assert from "node:assert/strict";
import { test } from "node:test";
import { App, ConfigurationError } from "../../src/index.js";
import type { AppOptions, Request } from "../../src/index.js";
import { TestClient } from "../../src/testing/index.js";

function inspect(options: AppOptions = {}, clientOptions: ConstructorParameters<typeof TestClient>[1] = {}) {
  let seen: Request | undefined;
  const app = new App({ env: "test", ...options });
  app.route("/inspect/:part", { methods: ["GET", "POST"] }, (req) => {
    seen = req;
    return "ok";
  });
  const client = new TestClient(app, clientOptions);
  return {
    client,
    request: async (path: string, headers: Record<string, string> = {}): Promise<Request> => {
      await client.get(path, { headers });
      assert.ok(seen, "handler ran");
      return seen;
    },
  };
}

test("query, path and url", async () => {
  const { request } = inspect();
  const req = await request("/inspect/a%2Fb?x=1&x=2&y=%C3%BC");
  assert.equal(req.url, "/inspect/a%2Fb?x=1&x=2&y=%C3%BC");
  assert.equal(req.path, "/inspect/a/b");
  assert.deepEqual(req.query.getAll("x"), ["1", "2"]);
  assert.equal(req.query.get("y"), "ü");
  assert.equal(req.params.part, "a/b");
  assert.equal(req.method, "GET");
});

test("headers have lower-case names", async () => {
  const { request } = inspect();
  const req = await request("/inspect/h", { "X-Custom-Header": "v" });
  assert.equal(req.headers["x-custom-header"], "v");
});

test("isHtmx reads HX-Request", async () => {
  const { request } = inspect();
  assert.equal((await request("/inspect/a", { "HX-Request": "true" })).isHtmx, true);
  assert.equal((await request("/inspect/a")).isHtmx, false);
  assert.equal((await request("/inspect/a", { "HX-Request": "false" })).isHtmx, false);
  const restore = await request("/inspect/a", { "HX-Request": "true", "HX-History-Restore-Request": "true" });
  assert.equal(restore.isHtmx, false);
});

test("ip ignores proxy headers by default", async () => {
  const { request } = inspect({}, { remoteAddress: "203.0.113.9" });
  const req = await request("/inspect/a", { "X-Forwarded-For": "1.2.3.4", "X-Forwarded-Proto": "https" });
  assert.equal(req.ip, "203.0.113.9");
  assert.equal(req.isSecure, false);
});

test("ip unmaps IPv4-mapped IPv6", async () => {
  const { request } = inspect({}, { remoteAddress: "::ffff:192.0.2.7" });
  assert.equal((await request("/inspect/a")).ip, "192.0.2.7");
});

test("trustProxy hop count", async () => {
  const { request } = inspect({ trustProxy: 1 }, { remoteAddress: "10.0.0.2" });
  // The client can prepend anything; only the entry the trusted proxy appended counts.
  const req = await request("/inspect/a", { "X-Forwarded-For": "6.6.6.6, 198.51.100.4" });
  assert.equal(req.ip, "198.51.100.4");

  const twoHops = inspect({ trustProxy: 2 }, { remoteAddress: "10.0.0.2" });
  const through = await twoHops.request("/inspect/a", { "X-Forwarded-For": "6.6.6.6, 198.51.100.4, 10.0.0.3" });
  assert.equal(through.ip, "198.51.100.4");
});

test("trustProxy address list", async () => {
  const trusted = inspect({ trustProxy: ["10.0.0.0/8"] }, { remoteAddress: "10.1.2.3" });
  const req = await trusted.request("/inspect/a", {
    "X-Forwarded-For": "6.6.6.6, 198.51.100.4, 10.9.9.9",
    "X-Forwarded-Proto": "https",
  });
  assert.equal(req.ip, "198.51.100.4");
  assert.equal(req.isSecure, true);

  const untrusted = inspect({ trustProxy: ["10.0.0.0/8"] }, { remoteAddress: "192.0.2.1" });
  const direct = await untrusted.request("/inspect/a", { "X-Forwarded-For": "6.6.6.6", "X-Forwarded-Proto": "https" });
  assert.equal(direct.ip, "192.0.2.1");
  assert.equal(direct.isSecure, false);
});

test("isSecure from TLS", async () => {
  const { request } = inspect({}, { baseUrl: "https://testserver" });
  assert.equal((await request("/inspect/a")).isSecure, true);
});

test("trustProxy mistakes fail at start-up", () => {
  assert.throws(() => new App({ trustProxy: true as never }), /trustProxy: true/);
  assert.throws(() => new App({ trustProxy: -1 }), ConfigurationError);
  assert.throws(() => new App({ trustProxy: ["not an address"] }), /invalid address/);
  assert.throws(() => new App({ trustProxy: "loopback" as never }), ConfigurationError);
});

test("session and user need middleware", async () => {
  const { request } = inspect();
  const req = await request("/inspect/a");
  assert.throws(() => req.session, /SessionMiddleware/);
  assert.throws(() => req.user, /AuthMiddleware/);
});

test("cookies reach the request", async () => {
  const { request } = inspect();
  const req = await request("/inspect/a", { Cookie: "a=1; a=2; b=x" });
  assert.equal(req.cookies.a, "1");
  assert.equal(req.cookies.b, "x");
});

import assert from "node:assert/strict";
import { test } from "node:test";
import { App, ConfigurationError, Fragment, HTTPError, Response, Template } from "../../src/index.js";
import {
  AuthMiddleware,
  CSRFMiddleware,
  DEFAULT_CSP,
  SecurityHeadersMiddleware,
  SessionMiddleware,
  type SecurityHeadersOptions,
} from "../../src/middleware/index.js";
import { requires } from "../../src/security/index.js";
import { TestClient, type TestResponse } from "../../src/testing/index.js";
import { captureLogger, writeTemplates } from "../helpers.js";

const SECRET = "headers-tests-secret-key-0123456789-abcdefghijkl";
const templates = writeTemplates({
  "page.html": '<html><script nonce="{{ csp_nonce() }}">1</script>{% block body %}<p>body</p>{% endblock %}</html>',
});

const DEFAULTS: Record<string, string> = {
  "content-security-policy": DEFAULT_CSP,
  "x-frame-options": "DENY",
  "x-content-type-options": "nosniff",
  "referrer-policy": "strict-origin-when-cross-origin",
  "cross-origin-opener-policy": "same-origin",
};

function makeApp(options: SecurityHeadersOptions = {}, appOptions: ConstructorParameters<typeof App>[0] = {}): App {
  const app = new App({ env: "test", templates, logger: captureLogger(), limits: { bodyBytes: 16 }, ...appOptions });
  app.addMiddleware(new SessionMiddleware({ secretKey: SECRET }));
  app.addMiddleware(new AuthMiddleware({ loadUser: () => null }));
  app.addMiddleware(new CSRFMiddleware());
  // Added last, as in the hardened setup: it still reaches responses made before it runs.
  app.addMiddleware(new SecurityHeadersMiddleware(options));
  app.get("/html", () => "<p>hi</p>");
  app.get("/token", (req) => `<meta name="csrf-token" content="${req.csrfToken}">`);
  app.get("/json", () => ({ a: 1 }));
  app.get("/page", () => Template("page.html"));
  app.get("/fragment", () => Fragment("page.html", "body"));
  app.get("/boom", () => {
    throw new Error("boom");
  });
  app.get("/teapot", () => {
    throw new HTTPError(429, "slow down");
  });
  app.post("/upload", async (req) => ({ size: (await req.bytes()).length }));
  app.get(
    "/admin",
    requires("admin")(() => "admin"),
  );
  app.get("/own", () =>
    Response.html("own")
      .withHeader("X-Frame-Options", "SAMEORIGIN")
      .withHeader("Content-Security-Policy", "default-src 'none'"),
  );
  return app;
}

function assertDefaults(response: TestResponse, label: string): void {
  for (const [name, value] of Object.entries(DEFAULTS)) {
    assert.equal(response.header(name), value, `${label}: ${name}`);
  }
}

test("defaults on every kind of response", async () => {
  const client = new TestClient(makeApp());
  const cases: [string, () => Promise<TestResponse>][] = [
    ["html", () => client.get("/html")],
    ["json", () => client.get("/json")],
    ["template", () => client.get("/page")],
    ["fragment", () => client.get("/fragment", { headers: { "hx-request": "true" } })],
    ["404", () => client.get("/missing")],
    ["405", () => client.delete("/html")],
    ["500", () => client.get("/boom")],
    ["429", () => client.get("/teapot")],
    ["403 csrf", () => client.post("/upload", { body: "x" })],
    ["302 guard", () => client.get("/admin")],
    ["400 path", () => client.get("/%zz")],
    ["head", () => client.head("/html")],
  ];
  for (const [label, send] of cases) assertDefaults(await send(), label);
});

test("headers reach 413 responses", async () => {
  const client = new TestClient(makeApp());
  const token = await client.csrfToken("/token");
  const response = await client.post("/upload", { body: "x".repeat(100), headers: { "x-csrf-token": token } });
  assert.equal(response.status, 413);
  assertDefaults(response, "413");
});

test("HSTS only on secure requests", async () => {
  const insecure = await new TestClient(makeApp()).get("/html");
  assert.equal(insecure.header("strict-transport-security"), undefined);
  const secure = await new TestClient(makeApp(), { baseUrl: "https://testserver" }).get("/html");
  assert.equal(secure.header("strict-transport-security"), "max-age=31536000");

  const proxied = new TestClient(makeApp({}, { trustProxy: 1 }), { remoteAddress: "10.0.0.1" });
  const forwarded = await proxied.get("/html", { headers: { "x-forwarded-proto": "https" } });
  assert.equal(forwarded.header("strict-transport-security"), "max-age=31536000");
  const spoofed = await new TestClient(makeApp()).get("/html", { headers: { "x-forwarded-proto": "https" } });
  assert.equal(spoofed.header("strict-transport-security"), undefined);
});

test("nonce is fresh, quoted and in the page", async () => {
  const client = new TestClient(makeApp({ cspNonce: true }));
  const nonces = new Set<string>();
  for (let round = 0; round < 5; round++) {
    const response = await client.get("/page");
    const csp = response.header("content-security-policy") ?? "";
    const nonce = /script-src 'self' 'nonce-([A-Za-z0-9+/=]+)'/.exec(csp)?.[1];
    assert.ok(nonce, csp);
    assert.match(csp, new RegExp(`style-src 'self' 'nonce-${nonce.replace(/[+/=]/g, "\\$&")}'`));
    assert.ok(response.text.includes(`<script nonce="${nonce}">`), "template sees the same nonce");
    assert.equal(Buffer.from(nonce, "base64").length, 16);
    nonces.add(nonce);
  }
  assert.equal(nonces.size, 5);
});

test("nonce keeps existing script sources", async () => {
  const client = new TestClient(
    makeApp({
      cspNonce: true,
      contentSecurityPolicy: "default-src 'none'; script-src 'self' https://cdn.example; img-src 'self'",
    }),
  );
  const csp = (await client.get("/html")).header("content-security-policy") ?? "";
  assert.match(
    csp,
    /^default-src 'none'; script-src 'self' https:\/\/cdn\.example 'nonce-[^']+'; img-src 'self'; style-src 'nonce-[^']+'$/,
  );
});

test("nonce reaches early responses too", async () => {
  const response = await new TestClient(makeApp({ cspNonce: true })).post("/upload", { body: "x" });
  assert.equal(response.status, 403);
  assert.match(response.header("content-security-policy") ?? "", /'nonce-/);
});

test("handler headers win", async () => {
  const response = await new TestClient(makeApp()).get("/own");
  assert.equal(response.header("x-frame-options"), "SAMEORIGIN");
  assert.equal(response.header("content-security-policy"), "default-src 'none'");
  assert.equal(response.header("x-content-type-options"), "nosniff");
});

test("options override and switch off", async () => {
  const client = new TestClient(
    makeApp({
      contentSecurityPolicy: false,
      xFrameOptions: "SAMEORIGIN",
      referrerPolicy: "no-referrer",
      crossOriginOpenerPolicy: false,
      xContentTypeOptions: false,
      strictTransportSecurity: "max-age=63072000; includeSubDomains; preload",
    }),
    { baseUrl: "https://testserver" },
  );
  const response = await client.get("/html");
  assert.equal(response.header("content-security-policy"), undefined);
  assert.equal(response.header("x-frame-options"), "SAMEORIGIN");
  assert.equal(response.header("referrer-policy"), "no-referrer");
  assert.equal(response.header("cross-origin-opener-policy"), undefined);
  assert.equal(response.header("x-content-type-options"), undefined);
  assert.equal(response.header("strict-transport-security"), "max-age=63072000; includeSubDomains; preload");
  const noHsts = await new TestClient(makeApp({ strictTransportSecurity: false }), {
    baseUrl: "https://testserver",
  }).get("/html");
  assert.equal(noHsts.header("strict-transport-security"), undefined);
});

test("configuration errors", () => {
  const bad: [SecurityHeadersOptions, RegExp][] = [
    [{ contentSecurityPolicy: "default-src 'self'\r\nSet-Cookie: a=b" }, /control character/],
    [{ contentSecurityPolicy: "default-src 'self';; object-src 'none'" }, /empty directive/],
    [{ contentSecurityPolicy: "" }, /non-empty string/],
    [{ contentSecurityPolicy: "default-src 'self'; default-src 'none'" }, /twice/],
    [{ strictTransportSecurity: "includeSubDomains" }, /numeric max-age/],
    [{ strictTransportSecurity: "max-age=abc" }, /numeric max-age/],
    [{ strictTransportSecurity: "max-age=10; bogus" }, /unknown directive/],
    [{ xFrameOptions: "ALLOW-FROM x" as never }, /DENY, SAMEORIGIN/],
    [{ referrerPolicy: "sometimes" }, /unknown policy/],
    [{ contentSecurityPolicy: false, cspNonce: true }, /cspNonce needs/],
    [{ contentSecurityPolicyy: "x" } as never, /Did you mean contentSecurityPolicy\?/],
  ];
  for (const [options, message] of bad) {
    assert.throws(
      () => new SecurityHeadersMiddleware(options),
      (error: Error) => error instanceof ConfigurationError && message.test(error.message),
      JSON.stringify(options),
    );
  }
});

import assert from "node:assert/strict";
import { afterEach, test } from "node:test";
import { App, ConfigurationError, Template } from "../../src/index.js";
import { AuthMiddleware, CSRFMiddleware, SessionMiddleware, type CSRFOptions } from "../../src/middleware/index.js";
import { login, setSecurityEventSink, type SecurityEvent } from "../../src/security/index.js";
import { TestClient, extractCsrfToken } from "../../src/testing/index.js";
import { captureLogger, writeTemplates } from "../helpers.js";

const SECRET = "csrf-tests-secret-key-0123456789-abcdefghijklmnop";
const UNSAFE_METHODS = ["POST", "PUT", "PATCH", "DELETE"] as const;
const CONTENT_TYPES = [
  undefined,
  "text/plain",
  "TEXT/PLAIN; charset=utf-8",
  "application/x-www-form-urlencoded",
  "Application/X-WWW-Form-Urlencoded; charset=UTF-8",
  "multipart/form-data; boundary=xyz",
  "application/json",
  "application/octet-stream",
];

const events: SecurityEvent[] = [];
afterEach(() => {
  setSecurityEventSink(null);
  events.length = 0;
});

function makeApp(options: CSRFOptions = {}) {
  setSecurityEventSink((event) => {
    events.push(event);
  });
  const calls = { count: 0 };
  const user = { id: "u1", permissions: [] };
  const templates = writeTemplates({
    "form.html":
      '<meta name="csrf-token" content="{{ csrf_token() }}"><form method="post">{{ csrf_field() }}</form>' +
      "<p>{{ csrf_token() }}</p>",
  });
  const app = new App({ env: "test", templates, logger: captureLogger() });
  app.addMiddleware(new SessionMiddleware({ secretKey: SECRET }));
  app.addMiddleware(
    new AuthMiddleware({
      loadUser: (id) => (id === "u1" ? user : null),
      verifyToken: (token) => (token === "good" ? user : null),
    }),
  );
  app.addMiddleware(new CSRFMiddleware(options));
  app.get("/form", () => Template("form.html"));
  app.route("/submit", { methods: [...UNSAFE_METHODS] }, async (req) => {
    calls.count += 1;
    const type = req.headers["content-type"] ?? "";
    const name = type.includes("form") ? ((await req.form()).get("name") ?? "") : "";
    return { ok: true, name };
  });
  app.post("/login", (req) => {
    calls.count += 1;
    login(req, user);
    return { ok: true };
  });
  app.post("/webhooks/payment", () => {
    calls.count += 1;
    return { ok: true };
  });
  return { app, calls };
}

async function clientWithToken(app: App): Promise<{ client: TestClient; token: string }> {
  const client = new TestClient(app);
  return { client, token: await client.csrfToken("/form") };
}

test("unsafe methods without a token are rejected", async () => {
  const { app, calls } = makeApp();
  const { client } = await clientWithToken(app);
  for (const method of UNSAFE_METHODS) {
    for (const contentType of CONTENT_TYPES) {
      const headers: Record<string, string> = contentType === undefined ? {} : { "content-type": contentType };
      const body = contentType?.startsWith("multipart") ? "--xyz--\r\n" : "name=x";
      const response = await client.request(method, "/submit", { body, headers });
      assert.equal(response.status, 403, `${method} ${String(contentType)}`);
    }
  }
  assert.equal(calls.count, 0);
  assert.ok(events.every((event) => event.name === "csrf.reject.missing"));
});

test("safe methods are not checked", async () => {
  const { app } = makeApp();
  const client = new TestClient(app);
  for (const method of ["GET", "HEAD", "OPTIONS"]) {
    assert.notEqual((await client.request(method, "/form")).status, 403, method);
  }
});

test("valid form token passes", async () => {
  const { app, calls } = makeApp();
  const { client, token } = await clientWithToken(app);
  const response = await client.post("/submit", { form: { _csrf_token: token, name: "Ada" } });
  assert.equal(response.status, 200);
  // The handler reuses the form the middleware parsed.
  assert.deepEqual(response.json(), { ok: true, name: "Ada" });
  assert.equal(calls.count, 1);
});

test("valid header token passes", async () => {
  const { app, calls } = makeApp();
  const { client, token } = await clientWithToken(app);
  for (const method of UNSAFE_METHODS) {
    const response = await client.request(method, "/submit", { json: { a: 1 }, headers: { "X-CSRF-Token": token } });
    assert.equal(response.status, 200, method);
  }
  assert.equal(calls.count, 4);
});

test("multipart form token passes", async () => {
  const { app } = makeApp();
  const { client, token } = await clientWithToken(app);
  const data = new FormData();
  data.append("_csrf_token", token);
  data.append("name", "Grace");
  const response = await client.post("/submit", { multipart: data });
  assert.deepEqual(response.json(), { ok: true, name: "Grace" });
});

test("masked tokens differ and all validate", async () => {
  const { app } = makeApp();
  const client = new TestClient(app);
  const page = (await client.get("/form")).text;
  const tokens = new Set<string>();
  for (const match of page.matchAll(/(?:content|value)="([^"]+)"|<p>([^<]+)<\/p>/g))
    tokens.add(match[1] ?? match[2] ?? "");
  tokens.add(await client.csrfToken("/form"));
  assert.equal(tokens.size, 4);
  for (const token of tokens) {
    assert.equal((await client.post("/submit", { headers: { "x-csrf-token": token } })).status, 200);
  }
});

test("token from another session is rejected", async () => {
  const { app, calls } = makeApp();
  const { token } = await clientWithToken(app);
  const { client: other } = await clientWithToken(app);
  const response = await other.post("/submit", { form: { _csrf_token: token } });
  assert.equal(response.status, 403);
  assert.equal(events.at(-1)?.name, "csrf.reject.invalid");
  assert.equal(calls.count, 0);
});

test("token before login stops working after login", async () => {
  const { app } = makeApp();
  const { client, token } = await clientWithToken(app);
  assert.equal((await client.post("/login", { form: { _csrf_token: token } })).status, 200);
  assert.equal((await client.post("/submit", { form: { _csrf_token: token } })).status, 403);
  const fresh = await client.csrfToken("/form");
  assert.equal((await client.post("/submit", { form: { _csrf_token: fresh } })).status, 200);
});

test("login without a token establishes nothing", async () => {
  const { app, calls } = makeApp();
  const response = await new TestClient(app).post("/login", { form: { email: "a@example.com" } });
  assert.equal(response.status, 403);
  assert.equal(response.cookies.length, 0);
  assert.equal(calls.count, 0);
});

test("cross-site origins are rejected even with a token", async () => {
  const { app, calls } = makeApp({ trustedOrigins: ["https://admin.example.com"] });
  const { client, token } = await clientWithToken(app);
  const attempts: Record<string, string>[] = [
    { origin: "https://evil.example" },
    { origin: "null" },
    { origin: "http://testserver.evil.example" },
    { origin: "https://testserver" },
    { "sec-fetch-site": "cross-site" },
    { "sec-fetch-site": "same-site" },
    { "sec-fetch-site": "same-site", origin: "https://sub.testserver" },
    { "sec-fetch-site": "cross-site", origin: "http://testserver" },
  ];
  for (const headers of attempts) {
    const response = await client.post("/submit", { form: { _csrf_token: token }, headers });
    assert.equal(response.status, 403, JSON.stringify(headers));
  }
  assert.equal(calls.count, 0);
  assert.ok(events.every((event) => event.name === "csrf.reject.origin"));
  assert.deepEqual(events[1]?.details, { reason: "origin null" });
});

test("same origin with a token passes", async () => {
  const { app } = makeApp({ trustedOrigins: ["https://admin.example.com"] });
  const { client, token } = await clientWithToken(app);
  for (const headers of [
    { origin: "http://testserver" },
    { "sec-fetch-site": "same-origin", origin: "http://testserver" },
    { "sec-fetch-site": "same-site", origin: "https://admin.example.com" },
    { origin: "https://admin.example.com" },
    { "sec-fetch-site": "none" },
  ] as Record<string, string>[]) {
    const response = await client.post("/submit", { form: { _csrf_token: token }, headers });
    assert.equal(response.status, 200, JSON.stringify(headers));
  }
});

test("origin comparison ignores case and default ports", async () => {
  const { app } = makeApp();
  const { client, token } = await clientWithToken(app);
  for (const headers of [
    { host: "TESTSERVER", origin: "http://testserver" },
    { host: "testserver.", origin: "http://testserver" },
    { host: "testserver", origin: "http://TestServer" },
    { host: "testserver:80", origin: "http://testserver" },
    { host: "testserver", origin: "http://testserver:80" },
  ] as Record<string, string>[]) {
    const response = await client.post("/submit", { form: { _csrf_token: token }, headers });
    assert.equal(response.status, 200, JSON.stringify(headers));
  }
  for (const headers of [
    { host: "testserver", origin: "http://testserver:8080" },
    { host: "testserver", origin: "https://testserver" },
    { host: "testserver", origin: "not a url" },
  ] as Record<string, string>[]) {
    const response = await client.post("/submit", { form: { _csrf_token: token }, headers });
    assert.equal(response.status, 403, JSON.stringify(headers));
  }
});

test("same origin without a token is rejected", async () => {
  const { app } = makeApp();
  const { client } = await clientWithToken(app);
  const response = await client.post("/submit", { form: { name: "x" }, headers: { origin: "http://testserver" } });
  assert.equal(response.status, 403);
});

test("garbage tokens are rejected", async () => {
  const { app } = makeApp();
  const { client, token } = await clientWithToken(app);
  for (const bad of [
    "x",
    token.slice(0, -2),
    `${token}AA`,
    "!".repeat(86),
    "A".repeat(86),
    "é".repeat(40),
    "a".repeat(100_000),
  ]) {
    const response = await client.post("/submit", { headers: { "x-csrf-token": bad } });
    assert.equal(response.status, 403, bad.slice(0, 20));
  }
});

test("other spellings of a token are rejected", async () => {
  const { app } = makeApp();
  const { client, token } = await clientWithToken(app);
  // 64 bytes take 86 base64url characters, and the low four bits of the last one carry no
  // data. Every other character whose top two bits match decodes to the same bytes.
  const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  const last = alphabet.indexOf(token.at(-1) ?? "");
  const sameBytes = Array.from({ length: alphabet.length }, (_, index) => index)
    .filter((index) => index >> 4 === last >> 4 && index !== last)
    .map((index) => alphabet.charAt(index));
  assert.equal(sameBytes.length, 15);
  for (const character of sameBytes) {
    const respelled = token.slice(0, -1) + character;
    assert.deepEqual(Buffer.from(respelled, "base64url"), Buffer.from(token, "base64url"));
    const response = await client.post("/submit", { headers: { "x-csrf-token": respelled } });
    assert.equal(response.status, 403, respelled);
  }
  const response = await client.post("/submit", { headers: { "x-csrf-token": token } });
  assert.equal(response.status, 200);
});

test("bearer-only requests are not checked", async () => {
  const { app, calls } = makeApp();
  const response = await new TestClient(app).post("/submit", { json: {}, headers: { authorization: "Bearer good" } });
  assert.equal(response.status, 200);
  assert.equal(calls.count, 1);
  // An invalid token is not a bearer login, so the check applies.
  assert.equal(
    (await new TestClient(app).post("/submit", { json: {}, headers: { authorization: "Bearer bad" } })).status,
    403,
  );
});

test("bearer with a session cookie is checked", async () => {
  const { app } = makeApp();
  const { client } = await clientWithToken(app);
  const response = await client.post("/submit", { json: {}, headers: { authorization: "Bearer good" } });
  assert.equal(response.status, 403);
});

test("exempt paths are not checked", async () => {
  const { app, calls } = makeApp({ exemptPaths: ["/webhooks"] });
  assert.equal((await new TestClient(app).post("/webhooks/payment", { json: {} })).status, 200);
  assert.equal((await new TestClient(app).post("/submit", { json: {} })).status, 403);
  assert.equal(calls.count, 1);
});

test("API clients get JSON 403", async () => {
  const { app } = makeApp();
  const response = await new TestClient(app).post("/submit", { json: {}, headers: { accept: "application/json" } });
  assert.equal(response.status, 403);
  assert.deepEqual(response.json(), {
    error: "Forbidden",
    status: 403,
    detail: "The form has expired or was sent from another site. Reload the page and try again.",
  });
});

test("rejection events carry no token", async () => {
  const { app } = makeApp();
  const { client, token } = await clientWithToken(app);
  const other = await new TestClient(app).csrfToken("/form");
  await client.post("/submit", { headers: { "x-csrf-token": other } });
  assert.equal(events.length, 1);
  assert.doesNotMatch(JSON.stringify(events), new RegExp(`${other}|${token}`));
});

test("rendering a token sets the session once", async () => {
  const { app } = makeApp();
  const client = new TestClient(app);
  assert.equal((await client.get("/form")).cookies.length, 1);
  assert.equal((await client.get("/form")).cookies.length, 0);
  assert.ok(extractCsrfToken((await client.get("/form")).text));
});

test("CSRF configuration mistakes", () => {
  const noSession = new App({ env: "test" });
  noSession.addMiddleware(new CSRFMiddleware());
  assert.throws(() => noSession.ready(), /CSRFMiddleware requires SessionMiddleware/);

  const beforeAuth = new App({ env: "test" });
  beforeAuth.addMiddleware(new SessionMiddleware({ secretKey: SECRET }));
  beforeAuth.addMiddleware(new CSRFMiddleware());
  beforeAuth.addMiddleware(new AuthMiddleware({ loadUser: () => null }));
  assert.throws(() => beforeAuth.ready(), /add AuthMiddleware first/);

  assert.throws(() => new CSRFMiddleware({ trustedOrigins: ["admin.example.com"] }), ConfigurationError);
  assert.throws(() => new CSRFMiddleware({ trustedOrigins: ["https://admin.example.com/path"] }), /without a path/);
  assert.throws(() => new CSRFMiddleware({ headerName: "x csrf" }), ConfigurationError);
  assert.throws(() => new CSRFMiddleware({ fieldName: 'a"b' }), ConfigurationError);
  assert.throws(() => new CSRFMiddleware({ exemptPath: ["/x"] } as never), /Did you mean exemptPaths/);
});

test("production session auth needs CSRF", () => {
  const build = (auth: ConstructorParameters<typeof AuthMiddleware>[0]): App => {
    const app = new App({ env: "production" });
    app.addMiddleware(new SessionMiddleware({ secretKey: SECRET }));
    app.addMiddleware(new AuthMiddleware(auth));
    return app;
  };
  assert.throws(() => build({ loadUser: () => null }).ready(), /CSRFMiddleware is missing/);
  assert.doesNotThrow(() => build({ loadUser: () => null, dangerouslyAllowWithoutCSRF: true }).ready());
  const withCsrf = build({ loadUser: () => null });
  withCsrf.addMiddleware(new CSRFMiddleware());
  assert.doesNotThrow(() => withCsrf.ready());
});

import assert from "node:assert/strict";
import { test } from "node:test";
import { App, Response } from "../../src/index.js";
import { TestClient, extractCsrfToken } from "../../src/testing/index.js";

function cookieApp(): App {
  const app = new App({ env: "test" });
  app.get("/set", (req) => {
    let response = Response.text("set");
    for (const [name, value] of req.query) {
      const [cookieValue, path, maxAge, secure, expires] = value.split("|");
      response = response.withCookie(name, cookieValue ?? "", {
        path: path === "" || path === undefined ? "/" : path,
        ...(maxAge ? { maxAge: Number(maxAge) } : {}),
        ...(secure === "secure" ? { secure: true } : {}),
        ...(expires ? { expires: new Date(expires) } : {}),
      });
    }
    return response;
  });
  app.get("/echo", (req) => ({ cookie: req.headers.cookie ?? null }));
  app.get("/app/echo", (req) => ({ cookie: req.headers.cookie ?? null }));
  app.get("/application/echo", (req) => ({ cookie: req.headers.cookie ?? null }));
  return app;
}

async function sentCookies(client: TestClient, path: string): Promise<string | null> {
  return (await client.get(path)).json<{ cookie: string | null }>().cookie;
}

test("jar stores and sends cookies", async () => {
  const client = new TestClient(cookieApp());
  await client.get("/set", { query: { a: "1", b: "2" } });
  assert.equal(await sentCookies(client, "/echo"), "a=1; b=2");
  assert.equal(client.cookie("a"), "1");
});

test("jar honours Path", async () => {
  const client = new TestClient(cookieApp());
  await client.get("/set", { query: { scoped: "x|/app" } });
  assert.equal(await sentCookies(client, "/echo"), null);
  assert.equal(await sentCookies(client, "/app/echo"), "scoped=x");
  // "/app" must not match "/application".
  assert.equal(await sentCookies(client, "/application/echo"), null);
});

test("jar sends the longest path first", async () => {
  const client = new TestClient(cookieApp());
  await client.get("/set", { query: { c: "root|/" } });
  await client.get("/set", { query: { c: "deep|/app" } });
  assert.equal(await sentCookies(client, "/app/echo"), "c=deep; c=root");
});

test("jar honours Max-Age", async () => {
  let now = new Date("2030-01-01T00:00:00Z");
  const client = new TestClient(cookieApp(), { now: () => now });
  await client.get("/set", { query: { short: "s||60" } });
  assert.equal(await sentCookies(client, "/echo"), "short=s");
  now = new Date("2030-01-01T00:01:01Z");
  assert.equal(await sentCookies(client, "/echo"), null);
});

test("Max-Age zero deletes a cookie", async () => {
  const client = new TestClient(cookieApp());
  await client.get("/set", { query: { gone: "v" } });
  await client.get("/set", { query: { gone: "|/|0" } });
  assert.equal(client.cookie("gone"), undefined);
});

test("jar honours Expires", async () => {
  let now = new Date("2030-01-01T00:00:00Z");
  const client = new TestClient(cookieApp(), { now: () => now });
  await client.get("/set", { query: { e: "v||||2030-01-02T00:00:00Z" } });
  assert.equal(client.cookie("e"), "v");
  now = new Date("2030-01-03T00:00:00Z");
  assert.equal(client.cookie("e"), undefined);
});

test("jar keeps Secure cookies to https", async () => {
  const insecure = new TestClient(cookieApp());
  await insecure.get("/set", { query: { s: "v||||", t: "v|/||secure" } });
  assert.equal(insecure.cookie("s"), "v");
  assert.equal(insecure.cookie("t"), undefined);

  const secure = new TestClient(cookieApp(), { baseUrl: "https://testserver" });
  await secure.get("/set", { query: { t: "v|/||secure" } });
  assert.equal(await sentCookies(secure, "/echo"), "t=v");
});

test("withoutCookies skips the jar", async () => {
  const client = new TestClient(cookieApp());
  await client.get("/set", { query: { a: "1" } });
  const response = await client.get("/echo", { withoutCookies: true });
  assert.equal(response.json<{ cookie: string | null }>().cookie, null);
});

test("extractCsrfToken reads input or meta", () => {
  assert.equal(extractCsrfToken('<form><input type="hidden" name="_csrf_token" value="abc.def"></form>'), "abc.def");
  assert.equal(extractCsrfToken('<meta name="csrf-token" content="xyz">'), "xyz");
  assert.equal(extractCsrfToken("<p>none</p>"), null);
  assert.equal(extractCsrfToken('<input name="token.x" value="custom">', "token.x"), "custom");
  assert.equal(extractCsrfToken('<input name="tokenAx" value="wrong">', "token.x"), null);
});

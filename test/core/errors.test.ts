import assert from "node:assert/strict";
import { test } from "node:test";
import { App, HTTPError } from "../../src/index.js";
import type { Env } from "../../src/index.js";
import { TestClient } from "../../src/testing/index.js";
import { captureLogger } from "../helpers.js";

function failingApp(env: Env) {
  const logger = captureLogger();
  const app = new App({ env, logger });
  app.get("/boom", () => {
    throw new Error("database password is hunter2");
  });
  app.get("/gone", () => {
    throw new HTTPError(410, "This note was deleted");
  });
  return { client: new TestClient(app), logger };
}

test("500 page hides the error outside development", async () => {
  for (const env of ["production", "test"] as const) {
    const { client, logger } = failingApp(env);
    const response = await client.get("/boom");
    assert.equal(response.status, 500);
    assert.doesNotMatch(response.text, /hunter2/);
    assert.doesNotMatch(response.text, /at .*\.ts/);
    assert.match(response.text, /Internal Server Error/);
    assert.equal(logger.entries.length, 1);
    assert.equal(logger.entries[0]!.level, "error");
    assert.equal((logger.entries[0]?.fields.err as Error).message, "database password is hunter2");
  }
});

test("500 page shows the stack in development", async () => {
  const { client } = failingApp("development");
  const response = await client.get("/boom");
  assert.equal(response.status, 500);
  assert.match(response.text, /<pre>Error: database password is hunter2/);
});

test("JSON error for clients preferring JSON", async () => {
  const { client } = failingApp("production");
  const response = await client.get("/boom", { headers: { accept: "application/json" } });
  assert.equal(response.status, 500);
  assert.equal(response.header("content-type"), "application/json; charset=utf-8");
  assert.deepEqual(response.json(), { error: "Internal Server Error", status: 500, detail: "Internal Server Error" });

  const notFound = await client.get("/nothing", { headers: { accept: "application/json, text/html;q=0.5" } });
  assert.deepEqual(notFound.json(), { error: "Not Found", status: 404, detail: "Not Found" });
});

test("browsers get HTML errors", async () => {
  const { client } = failingApp("production");
  const browserAccept = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8";
  const response = await client.get("/gone", { headers: { accept: browserAccept } });
  assert.equal(response.status, 410);
  assert.match(response.header("content-type") ?? "", /^text\/html/);
  assert.match(response.text, /This note was deleted/);
});

test("HTTPError detail is escaped", async () => {
  const app = new App({ env: "test" });
  app.get("/", () => {
    throw new HTTPError(400, "<img src=x onerror=alert(1)>");
  });
  const response = await new TestClient(app).get("/");
  assert.doesNotMatch(response.text, /<img/);
  assert.match(response.text, /&lt;img/);
});

test("HTTPError rejects a non-error status", () => {
  assert.throws(() => new HTTPError(200), RangeError);
  assert.throws(() => new HTTPError(600), RangeError);
  assert.throws(() => new HTTPError(Number.NaN), RangeError);
});

test("4xx errors are not logged", async () => {
  const { client, logger } = failingApp("production");
  await client.get("/gone");
  await client.get("/missing");
  assert.equal(logger.entries.length, 0);
});

import assert from "node:assert/strict";
import { test } from "node:test";
import { App, ConfigurationError } from "../../src/index.js";
import { TestClient } from "../../src/testing/index.js";
import { captureLogger } from "../helpers.js";

function makeApp(): App {
  const app = new App({ env: "test", logger: captureLogger() });
  app.get("/", () => "home");
  app.get("/notes/:id", (req) => ({ id: req.params.id, route: req.route }));
  app.route("/items", { methods: ["GET", "POST"] }, (req) => `items ${req.method}`);
  app.put("/items", () => "put");
  app.delete("/notes/:id", (req) => `deleted ${req.params.id ?? ""}`);
  app.patch("/notes/:id", () => "patched");
  app.get("/users/:userId/posts/:postId", (req) => ({ ...req.params }));
  return app;
}

test("route params are decoded", async () => {
  const client = new TestClient(makeApp());
  const response = await client.get("/notes/a%20b");
  assert.equal(response.status, 200);
  assert.deepEqual(response.json(), { id: "a b", route: "/notes/:id" });
});

test("several params in one route", async () => {
  const client = new TestClient(makeApp());
  const response = await client.get("/users/7/posts/42");
  assert.deepEqual(response.json(), { userId: "7", postId: "42" });
});

test("params record has no prototype", async () => {
  const app = new App({ env: "test" });
  let seen: object | undefined;
  app.get("/x/:name", (req) => {
    seen = req.params;
    return "ok";
  });
  await new TestClient(app).get("/x/__proto__");
  assert.ok(seen);
  assert.equal(Object.getPrototypeOf(seen), null);
  assert.equal((seen as Record<string, string>).name, "__proto__");
});

test("unknown path gives 404", async () => {
  const client = new TestClient(makeApp());
  const response = await client.get("/nope");
  assert.equal(response.status, 404);
  assert.match(response.header("content-type") ?? "", /text\/html/);
});

test("wrong method gives 405 with Allow", async () => {
  const client = new TestClient(makeApp());
  const response = await client.post("/");
  assert.equal(response.status, 405);
  assert.equal(response.header("allow"), "GET, HEAD, OPTIONS");

  const items = await client.patch("/items");
  assert.equal(items.status, 405);
  assert.equal(items.header("allow"), "GET, HEAD, POST, PUT, OPTIONS");
});

test("methods option routes each method", async () => {
  const client = new TestClient(makeApp());
  assert.equal((await client.get("/items")).text, "items GET");
  assert.equal((await client.post("/items")).text, "items POST");
  assert.equal((await client.put("/items")).text, "put");
  assert.equal((await client.delete("/notes/3")).text, "deleted 3");
  assert.equal((await client.patch("/notes/3")).text, "patched");
});

test("HEAD uses the GET handler without a body", async () => {
  const app = new App({ env: "test" });
  let calls = 0;
  app.get("/page", () => {
    calls += 1;
    return "a body of some length";
  });
  const response = await new TestClient(app).head("/page");
  assert.equal(response.status, 200);
  assert.equal(response.body.length, 0);
  assert.equal(calls, 1);
});

test("OPTIONS answers 204 with Allow", async () => {
  const client = new TestClient(makeApp());
  const response = await client.options("/notes/1");
  assert.equal(response.status, 204);
  assert.equal(response.header("allow"), "GET, HEAD, PATCH, DELETE, OPTIONS");
});

test("trailing and repeated slashes match", async () => {
  const client = new TestClient(makeApp());
  assert.equal((await client.get("/notes/5/")).status, 200);
  assert.equal((await client.get("//notes//5")).status, 200);
  const response = await client.get("/notes/5?x=1");
  assert.equal(response.json<{ id: string }>().id, "5");
});

test("matching is case-sensitive", async () => {
  const client = new TestClient(makeApp());
  assert.equal((await client.get("/NOTES/5")).status, 404);
});

test("invalid percent-encoding gives 400", async () => {
  const client = new TestClient(makeApp());
  assert.equal((await client.get("/notes/%E0%A4%A")).status, 400);
  assert.equal((await client.get("/%zz")).status, 400);
});

test("encoded control characters give 400", async () => {
  const client = new TestClient(makeApp());
  assert.equal((await client.get("/notes/a%00b")).status, 400);
  assert.equal((await client.get("/notes/a%0d%0aSet-Cookie:%20x=1")).status, 400);
});

test("absolute-form target is routed", async () => {
  const client = new TestClient(makeApp());
  const response = await client.get("http://testserver/notes/9");
  assert.equal(response.status, 200);
  assert.equal(response.json<{ id: string }>().id, "9");
  assert.equal((await client.get("ftp://x/notes/9")).status, 400);
});

test("duplicate route is a configuration error", () => {
  const app = new App({ env: "test" });
  app.get("/a", () => "a");
  assert.throws(() => app.get("/a", () => "b"), ConfigurationError);
  assert.throws(() => app.route("a", () => "b"), /must start with "\/"/);
  assert.throws(() => app.route("/b", { methods: ["BREW"] }, () => "b"), /unsupported method BREW/);
  assert.throws(() => app.route("/c", { method: ["GET"] } as never, () => "c"), /Did you mean methods\?/);
});

test("routes cannot change after start", () => {
  const app = new App({ env: "test" });
  app.ready();
  assert.throws(() => app.get("/late", () => "x"), /after the app started/);
  assert.throws(() => app.addMiddleware((_req, next) => next()), /after the app started/);
});

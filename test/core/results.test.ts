import assert from "node:assert/strict";
import { Readable } from "node:stream";
import { test } from "node:test";
import { App, Fragment, Redirect, Response, Template } from "../../src/index.js";
import { TestClient } from "../../src/testing/index.js";
import { captureLogger, writeTemplates } from "../helpers.js";

const templates = writeTemplates({
  "base.html": "<main>{% block content %}{% endblock %}</main>",
  "page.html": '{% extends "base.html" %}{% block content %}<p>{{ name }}</p>{% endblock %}',
});

function appWith(handler: () => unknown): TestClient {
  const app = new App({ env: "test", templates, logger: captureLogger() });
  app.get("/", handler as never);
  return new TestClient(app);
}

test("string result is HTML", async () => {
  const response = await appWith(() => "<b>hi</b>").get("/");
  assert.equal(response.status, 200);
  assert.equal(response.header("content-type"), "text/html; charset=utf-8");
  assert.equal(response.text, "<b>hi</b>");
});

test("object and array results are JSON", async () => {
  const object = await appWith(() => ({ a: 1, b: [true, null] })).get("/");
  assert.equal(object.header("content-type"), "application/json; charset=utf-8");
  assert.deepEqual(object.json(), { a: 1, b: [true, null] });

  const array = await appWith(() => [1, "two"]).get("/");
  assert.deepEqual(array.json(), [1, "two"]);
});

test("async handler result", async () => {
  const response = await appWith(async () => {
    await new Promise((resolve) => setImmediate(resolve));
    return "later";
  }).get("/");
  assert.equal(response.text, "later");
});

test("Template renders a page", async () => {
  const response = await appWith(() => Template("page.html", { name: "<script>" })).get("/");
  assert.equal(response.text, "<main><p>&lt;script&gt;</p></main>");
});

test("Template and Fragment work with new", async () => {
  const page = await appWith(() => new Template("page.html", { name: "x" }, { status: 201 })).get("/");
  assert.equal(page.status, 201);
  const fragment = await appWith(() => new Fragment("page.html", "content", { name: "y" })).get("/");
  assert.equal(fragment.text, "<p>y</p>");
});

test("Fragment renders one block", async () => {
  const response = await appWith(() => Fragment("page.html", "content", { name: "n" })).get("/");
  assert.equal(response.text, "<p>n</p>");
  assert.equal(response.header("content-type"), "text/html; charset=utf-8");
});

test("Template and Fragment carry headers", async () => {
  const page = await appWith(() => Template("page.html", { name: "x" }, { headers: { Vary: "HX-Request" } })).get("/");
  assert.equal(page.header("vary"), "HX-Request");
  const fragment = await appWith(() =>
    Fragment("page.html", "content", { name: "x" }, { status: 422, headers: { "HX-Retarget": "#errors" } }),
  ).get("/");
  assert.equal(fragment.status, 422);
  assert.equal(fragment.header("hx-retarget"), "#errors");
  assert.equal(fragment.text, "<p>x</p>");
});

test("render options are validated", async () => {
  assert.throws(() => Template("page.html", {}, { status: 1000 }), RangeError);
  const injected = await appWith(() => Template("page.html", {}, { headers: { "x-bad": "a\r\nb" } })).get("/");
  assert.equal(injected.status, 500);
});

test("Redirect sets Location and status", async () => {
  const found = await appWith(() => Redirect("/next")).get("/");
  assert.equal(found.status, 302);
  assert.equal(found.header("location"), "/next");
  assert.equal(found.body.length, 0);

  const seeOther = await appWith(() => new Redirect("/other", 303)).get("/");
  assert.equal(seeOther.status, 303);
});

test("Redirect rejects header injection", () => {
  assert.throws(() => Redirect("/x\r\nSet-Cookie: a=b"), /control characters/);
  assert.throws(() => Redirect("/x\nfoo"), /control characters/);
  assert.throws(() => Redirect("/x", 200), /Redirect status/);
});

test("package Response passes through", async () => {
  const response = await appWith(() =>
    new Response("teapot", { status: 418, headers: { "X-Custom": "1" } }).withCookie("k", "v"),
  ).get("/");
  assert.equal(response.status, 418);
  assert.equal(response.header("x-custom"), "1");
  assert.equal(response.text, "teapot");
  assert.equal(response.cookies.length, 1);
});

test("WHATWG Response is converted", async () => {
  const response = await appWith(() => {
    const headers = new Headers({ "content-type": "text/plain", "x-web": "yes" });
    headers.append("set-cookie", "a=1; Path=/");
    headers.append("set-cookie", "b=2; Path=/");
    return new globalThis.Response("from web", { status: 201, headers });
  }).get("/");
  assert.equal(response.status, 201);
  assert.equal(response.header("x-web"), "yes");
  assert.equal(response.text, "from web");
  assert.deepEqual(response.cookies, ["a=1; Path=/", "b=2; Path=/"]);
});

test("stream body is sent", async () => {
  const response = await appWith(() => new Response(Readable.from(["a", "b", "c"]))).get("/");
  assert.equal(response.text, "abc");
});

test("unsupported result gives 500", async () => {
  for (const value of [undefined, null, 42, new Map(), new Date()]) {
    const response = await appWith(() => value).get("/");
    assert.equal(response.status, 500, `result ${Object.prototype.toString.call(value)}`);
  }
});

import assert from "node:assert/strict";
import { test } from "node:test";
import { InvalidHeaderError, Response } from "../../src/index.js";

test("builders return new responses", () => {
  const original = Response.html("body");
  const changed = original.withHeader("X-One", "1").withStatus(201).withCookie("c", "v");
  assert.equal(original.status, 200);
  assert.equal(original.header("x-one"), undefined);
  assert.equal(original.cookies.length, 0);
  assert.equal(changed.status, 201);
  assert.equal(changed.header("X-ONE"), "1");
  assert.equal(changed.cookies.length, 1);
  assert.equal(changed.body, "body");
});

test("withHeader replaces case-insensitively", () => {
  const response = new Response("x", { headers: { "Content-Type": "text/plain" } }).withHeader(
    "content-type",
    "text/csv",
  );
  assert.deepEqual(response.headers, { "content-type": "text/csv" });
  assert.equal(response.withoutHeader("Content-Type").header("content-type"), undefined);
});

test("header values with CR or LF throw", () => {
  const response = Response.text("x");
  for (const value of ["a\r\nSet-Cookie: x=1", "a\nb", "a\rb", "a\0b", "\u007f"]) {
    assert.throws(() => response.withHeader("x-test", value), InvalidHeaderError, JSON.stringify(value));
    assert.throws(() => new Response("x", { headers: { "x-test": value } }), InvalidHeaderError);
  }
  assert.doesNotThrow(() => response.withHeader("x-test", "tab\tinside is fine"));
});

test("invalid header names throw", () => {
  for (const name of ["", "bad name", "bad:name", "x\r\ny", "ü"]) {
    assert.throws(() => Response.text("x").withHeader(name, "v"), InvalidHeaderError, JSON.stringify(name));
  }
});

test("Set-Cookie needs withCookie", () => {
  assert.throws(() => Response.text("x").withHeader("Set-Cookie", "a=1"), /withCookie/);
});

test("status is validated", () => {
  assert.throws(() => new Response("x", { status: 99 }), RangeError);
  assert.throws(() => Response.text("x").withStatus(600), RangeError);
  assert.throws(() => Response.json({}, 2.5), RangeError);
});

test("json and text helpers", () => {
  const json = Response.json({ a: 1 }, 201);
  assert.equal(json.status, 201);
  assert.equal(json.body, '{"a":1}');
  assert.equal(json.header("content-type"), "application/json; charset=utf-8");
  assert.equal(Response.text("t").header("content-type"), "text/plain; charset=utf-8");
});

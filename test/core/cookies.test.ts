import assert from "node:assert/strict";
import { test } from "node:test";
import { InvalidCookieError, Response } from "../../src/index.js";
import { parseCookieHeader, serializeCookie } from "../../src/http/cookies.js";

test("cookie header parses to null-prototype record", () => {
  const cookies = parseCookieHeader("a=1; b=two");
  assert.equal(Object.getPrototypeOf(cookies), null);
  assert.equal(cookies.a, "1");
  assert.equal(cookies.b, "two");
  assert.equal("toString" in cookies, false);
});

test("empty or missing cookie header", () => {
  assert.deepEqual({ ...parseCookieHeader(undefined) }, {});
  assert.deepEqual({ ...parseCookieHeader("") }, {});
  assert.deepEqual({ ...parseCookieHeader(";;; ;") }, {});
  assert.deepEqual({ ...parseCookieHeader("novalue") }, {});
});

test("first duplicate cookie wins", () => {
  const cookies = parseCookieHeader("session=first; other=x; session=second");
  assert.equal(cookies.session, "first");
});

test("quoted values are unquoted", () => {
  assert.equal(parseCookieHeader('a="quoted value"').a, "quoted value");
});

test("prototype names are plain cookies", () => {
  const cookies = parseCookieHeader("__proto__=evil; constructor=c; toString=t; hasOwnProperty=h");
  assert.equal(Object.getPrototypeOf(cookies), null);
  assert.equal(cookies.__proto__, "evil");
  assert.equal(cookies.constructor, "c");
  assert.equal(cookies["toString" as string], "t");
  assert.equal(Object.keys(cookies).length, 4);
  assert.equal(({} as Record<string, unknown>).evil, undefined);
});

test("names are never percent-decoded", () => {
  const cookies = parseCookieHeader("%73ession=forged; session=real");
  assert.equal(cookies.session, "real");
  assert.equal(cookies["%73ession"], "forged");
  const only = parseCookieHeader("%73ession=forged");
  assert.equal(only.session, undefined);
});

test("encoded separators stay inside the value", () => {
  const cookies = parseCookieHeader("a=x%3B%20session%3Dforged; b=%E0%A4%A");
  assert.equal(cookies.a, "x; session=forged");
  assert.equal(cookies.session, undefined);
  // Invalid percent-encoding is kept as sent, never an error.
  assert.equal(cookies.b, "%E0%A4%A");
});

test("serialise uses safe defaults", () => {
  assert.equal(serializeCookie("id", "abc"), "id=abc; Path=/; HttpOnly; SameSite=Lax");
  const full = serializeCookie("id", "a b", {
    maxAge: 60,
    domain: "example.com",
    path: "/app",
    secure: true,
    httpOnly: false,
    sameSite: "strict",
  });
  assert.equal(full, "id=a%20b; Max-Age=60; Domain=example.com; Path=/app; Secure; SameSite=Strict");
});

test("serialise rejects injection", () => {
  const attempts: [string, string, Parameters<typeof serializeCookie>[2]][] = [
    ["a;b", "v", {}],
    ["a", "v; Domain=evil.example", {}],
    ["a", "v\r\nSet-Cookie: x=1", {}],
    ["a", "v\n", {}],
    ["a", "v\0", {}],
    ["a", "v", { path: "/; Domain=evil" }],
    ["a", "v", { path: "/\r\nX: y" }],
    ["a", "v", { domain: "example.com; Secure" }],
    ["a", "v", { domain: "example.com\n" }],
    ["a b", "v", {}],
    ["", "v", {}],
  ];
  for (const [name, value, options] of attempts) {
    assert.throws(
      () => serializeCookie(name, value, options),
      InvalidCookieError,
      JSON.stringify([name, value, options]),
    );
  }
});

test("cookie prefixes are enforced", () => {
  assert.throws(() => serializeCookie("__Secure-id", "v"), /__Secure- prefix/);
  assert.match(serializeCookie("__Secure-id", "v", { secure: true }), /Secure/);
  assert.throws(() => serializeCookie("__Host-id", "v", { secure: false }), /__Host- prefix/);
  assert.throws(() => serializeCookie("__Host-id", "v", { secure: true, path: "/app" }), /__Host- prefix/);
  assert.throws(() => serializeCookie("__Host-id", "v", { secure: true, domain: "example.com" }), /__Host- prefix/);
  assert.match(serializeCookie("__Host-id", "v", { secure: true }), /^__Host-id=v; Path=\/; HttpOnly; Secure/);
});

test("SameSite None needs Secure", () => {
  assert.throws(() => serializeCookie("a", "v", { sameSite: "none" }), /secure: true/);
  assert.match(serializeCookie("a", "v", { sameSite: "none", secure: true }), /SameSite=None/);
});

test("maxAge must be an integer", () => {
  for (const maxAge of [Number.NaN, 1.5, Infinity]) {
    assert.throws(() => serializeCookie("a", "v", { maxAge }), InvalidCookieError);
  }
});

test("withoutCookie expires the cookie", () => {
  const response = Response.html("x").withoutCookie("id", { path: "/app" });
  assert.equal(response.cookies.length, 1);
  assert.match(response.cookies[0] ?? "", /^id=; Max-Age=0; Path=\/app; Expires=Thu, 01 Jan 1970 00:00:00 GMT/);
});

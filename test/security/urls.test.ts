import assert from "node:assert/strict";
import { test } from "node:test";
import { isSafeUrl, safeRedirect } from "../../src/security/index.js";

// Each of these would send a browser, or code that decodes the target, to another origin
// or to a script URL.
const HOSTILE = [
  "//evil.example",
  "//evil.example/path",
  "///evil.example",
  "////evil.example",
  "/\\evil.example",
  "\\\\evil.example",
  "\\/evil.example",
  "/\\/evil.example",
  "https://evil.example",
  "http://evil.example/",
  "HTTPS://evil.example",
  "javascript:alert(1)",
  "JavaScript:alert(1)",
  " javascript:alert(1)",
  "data:text/html,<script>alert(1)</script>",
  "vbscript:msgbox(1)",
  "ftp://evil.example",
  "//user:pass@evil.example",
  "https://trusted.example@evil.example",
  "/\t/evil.example",
  "/\n/evil.example",
  "/\r/evil.example",
  "/ /evil.example",
  "\t//evil.example",
  " //evil.example",
  "/%2F/evil.example",
  "/%2f%2fevil.example",
  "%2F%2Fevil.example",
  "/%5Cevil.example",
  "/%5C%5Cevil.example",
  "/%09/evil.example",
  "/%0A/evil.example",
  "/%00/evil.example",
  "/%252F/evil.example",
  "/%25252F/evil.example",
  "/\u0000/evil.example",
  "/\u00a0/evil.example",
  "/\u2028/evil.example",
  "/\ufeff/evil.example",
  "/\u3000/evil.example",
  "evil.example",
  "./evil",
  "../evil",
  "?next=//evil",
  "#frag",
  "",
  "/" + "a".repeat(3000),
  "/%E0%A4%A",
];

const SAFE: [string, string][] = [
  ["/", "/"],
  ["/dashboard", "/dashboard"],
  ["/notes/12?tab=edit#title", "/notes/12?tab=edit#title"],
  ["/search?q=a%20b&x=%2F", "/search?q=a%20b&x=%2F"],
  ["/a/../b", "/b"],
  ["/caf%C3%A9", "/caf%C3%A9"],
  ["/@user", "/@user"],
  ["/path:with:colons", "/path:with:colons"],
];

test("hostile next values are rejected", () => {
  assert.ok(HOSTILE.length >= 30);
  for (const url of HOSTILE) {
    assert.equal(isSafeUrl(url), false, JSON.stringify(url));
    assert.equal(safeRedirect(url, "/home").url, "/home", JSON.stringify(url));
  }
});

test("hostile values stay on the origin", () => {
  // Resolved the way a browser resolves a Location header, every redirect stays on this site.
  for (const url of HOSTILE) {
    const target = safeRedirect(url, "/home").url;
    assert.equal(new URL(target, "https://app.example/page").origin, "https://app.example", JSON.stringify(url));
  }
});

test("same-origin paths pass", () => {
  for (const [url, expected] of SAFE) {
    assert.equal(isSafeUrl(url), true, url);
    assert.equal(safeRedirect(url).url, expected, url);
  }
});

test("non-strings are rejected", () => {
  for (const value of [undefined, null, 42, ["/a"], { toString: () => "/a" }]) {
    assert.equal(isSafeUrl(value), false);
  }
});

test("safeRedirect status defaults to 303", () => {
  assert.equal(safeRedirect("/x").status, 303);
  assert.equal(safeRedirect("/x", "/", 302).status, 302);
});

import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { test } from "node:test";

// These tests import the package by its own name, which Node resolves through the exports
// map to dist/, so they check what a user gets from npm. `npm test` builds first.
const built = existsSync(new URL("../../dist/index.js", import.meta.url));
const skip = built ? false : "dist/ is missing: run npm run build first";

test("core subpath exports", { skip }, async () => {
  const core = (await import("bengal-chirp")) as Record<string, unknown>;
  for (const name of ["App", "Template", "Fragment", "Redirect", "Response", "HTTPError", "ConfigurationError"]) {
    assert.equal(typeof core[name], "function", name);
  }
});

test("testing subpath exports", { skip }, async () => {
  const testing = (await import("bengal-chirp/testing")) as Record<string, unknown>;
  assert.equal(typeof testing.TestClient, "function");
});

test("security subpath exports", { skip }, async () => {
  const security = (await import("bengal-chirp/security")) as Record<string, unknown>;
  assert.equal(typeof security.emitSecurityEvent, "function");
  assert.equal(typeof security.setSecurityEventSink, "function");
});

test("middleware subpath resolves", { skip }, async () => {
  await assert.doesNotReject(import("bengal-chirp/middleware"));
});

test("built app serves through the test client", { skip }, async () => {
  const { App } = await import("bengal-chirp");
  const { TestClient } = await import("bengal-chirp/testing");
  const app = new App({ env: "test" });
  app.get("/", () => "from dist");
  const response = await new TestClient(app).get("/");
  assert.equal(response.text, "from dist");
});

test("packed files include types and the bin", { skip }, () => {
  const output = execFileSync("npm", ["pack", "--dry-run", "--json", "--ignore-scripts"], { encoding: "utf8" });
  const [packed] = JSON.parse(output) as [{ files: { path: string }[] }];
  const paths = new Set(packed.files.map((file) => file.path));
  for (const path of [
    "dist/index.js",
    "dist/index.d.ts",
    "dist/middleware/index.d.ts",
    "dist/security/index.d.ts",
    "dist/testing/index.d.ts",
    "dist/cli/main.js",
    "README.md",
  ]) {
    assert.ok(paths.has(path), `${path} is packed`);
  }
  assert.ok(![...paths].some((path) => path.startsWith("test/") || path.startsWith("src/")), "no sources or tests");
});

test("chirp bin prints a secret", { skip }, () => {
  const output = execFileSync(process.execPath, ["dist/cli/main.js", "secret"], { encoding: "utf8" });
  assert.match(output.trim(), /^[A-Za-z0-9_-]{64}$/);
});

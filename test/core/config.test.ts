import assert from "node:assert/strict";
import { test } from "node:test";
import { App, ConfigurationError } from "../../src/index.js";
import { resolveEnv } from "../../src/app/env.js";
import { main } from "../../src/cli/commands.js";

test("env option wins over variables", () => {
  assert.equal(resolveEnv("test", { CHIRP_ENV: "production", NODE_ENV: "production" }), "test");
});

test("CHIRP_ENV wins over NODE_ENV", () => {
  assert.equal(resolveEnv(undefined, { CHIRP_ENV: "production", NODE_ENV: "development" }), "production");
  assert.equal(resolveEnv(undefined, { NODE_ENV: "test" }), "test");
});

test("env defaults to development", () => {
  assert.equal(resolveEnv(undefined, {}), "development");
  assert.equal(resolveEnv(undefined, { CHIRP_ENV: "" }), "development");
});

test("unknown env is a configuration error", () => {
  assert.throws(() => resolveEnv(undefined, { NODE_ENV: "staging" }), /Invalid environment "staging" from NODE_ENV/);
  assert.throws(() => resolveEnv(undefined, { CHIRP_ENV: "prod" }), ConfigurationError);
  assert.throws(() => new App({ env: "Production" as never }), /use development, test or production/);
});

test("misspelled App option suggests the fix", () => {
  assert.throws(
    () => new App({ trustProxi: 1 } as never),
    /Unknown option trustProxi for App. Did you mean trustProxy\?/,
  );
  assert.throws(
    () => new App({ zzz: 1 } as never),
    (error: Error) => !error.message.includes("Did you mean"),
  );
});

test("closeTimeoutSeconds is validated", () => {
  assert.throws(() => new App({ closeTimeoutSeconds: -1 }), /closeTimeoutSeconds/);
  assert.throws(() => new App({ closeTimeoutSeconds: Number.NaN }), /closeTimeoutSeconds/);
});

test("chirp secret prints a long random key", () => {
  const output: string[] = [];
  assert.equal(
    main(["secret"], (text) => output.push(text)),
    0,
  );
  const key = (output[0] ?? "").trim();
  assert.match(key, /^[A-Za-z0-9_-]{64}$/);
  const again: string[] = [];
  main(["secret"], (text) => again.push(text));
  assert.notEqual(again[0], output[0]);
});

test("chirp rejects unknown commands", () => {
  const output: string[] = [];
  assert.equal(
    main(["frobnicate"], (text) => output.push(text)),
    2,
  );
  assert.match(output.join(""), /Unknown command "frobnicate"/);
  assert.equal(
    main(["version"], (text) => output.push(text)),
    0,
  );
  assert.equal(
    main([], (text) => output.push(text)),
    2,
  );
});

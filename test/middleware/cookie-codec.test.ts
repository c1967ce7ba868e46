import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { test } from "node:test";
import { open, seal } from "../../src/middleware/session/cookie-codec.js";

const KEY = randomBytes(32);
const ASSOCIATED_DATA = Buffer.from("bengal-chirp session test", "utf8");
const IV_BYTES = 12;

function ivOf(sealed: string): string {
  return Buffer.from(sealed, "base64url")
    .subarray(1, 1 + IV_BYTES)
    .toString("hex");
}

test("seal uses a new IV for every value", () => {
  // More values than one refill of the IV pool holds, so the refill is crossed.
  const ivs = new Set<string>();
  const count = 2_000;
  for (let index = 0; index < count; index++) ivs.add(ivOf(seal(KEY, ASSOCIATED_DATA, "same plaintext")));
  assert.equal(ivs.size, count);
});

test("sealed values open after the IV pool refills", () => {
  const values = Array.from({ length: 800 }, (_, index) => `value ${index}`);
  const sealed = values.map((value) => seal(KEY, ASSOCIATED_DATA, value));
  for (const [index, text] of sealed.entries()) {
    assert.deepEqual(open([KEY], ASSOCIATED_DATA, text), { plaintext: values[index], keyIndex: 0 });
  }
});

test("open rejects a value with a changed IV", () => {
  const bytes = Buffer.from(seal(KEY, ASSOCIATED_DATA, "payload"), "base64url");
  bytes[1] = (bytes[1] ?? 0) ^ 1;
  assert.equal(open([KEY], ASSOCIATED_DATA, bytes.toString("base64url")), null);
});

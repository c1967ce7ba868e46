import assert from "node:assert/strict";
import { scryptSync } from "node:crypto";
import { test } from "node:test";
import { DEFAULT_SCRYPT_LOG_N, hashPassword, verifyPassword } from "../../examples/notes/passwords.js";

const FAST_LOG_N = 10;

function parts(hash: string): { parameters: string; salt: Buffer; key: Buffer } {
  const [, , parameters, salt, key] = hash.split("$");
  return {
    parameters: parameters ?? "",
    salt: Buffer.from(salt ?? "", "base64"),
    key: Buffer.from(key ?? "", "base64"),
  };
}

test("default hash format and cost", async () => {
  const hash = await hashPassword("correct horse battery staple");

  assert.equal(DEFAULT_SCRYPT_LOG_N, 16);
  // 16 bytes of salt and 32 of hash are 22 and 43 base64 characters without padding.
  assert.match(hash, /^\$scrypt\$ln=16,r=8,p=1\$[A-Za-z0-9+/]{22}\$[A-Za-z0-9+/]{43}$/);
  assert.equal(await verifyPassword("correct horse battery staple", hash), true);
  assert.equal(await verifyPassword("correct horse battery stapl", hash), false);
});

test("hash matches node scryptSync", async () => {
  const hash = await hashPassword("p@ssw0rd", FAST_LOG_N);
  const { parameters, salt, key } = parts(hash);

  assert.equal(parameters, "ln=10,r=8,p=1");
  assert.equal(salt.length, 16);
  assert.deepEqual(key, scryptSync("p@ssw0rd", salt, 32, { N: 1024, r: 8, p: 1 }));
});

test("verify accepts RFC 7914 vector", async () => {
  // The scrypt test vector of RFC 7914 with P = "password", S = "NaCl", N = 1024, r = 8, p = 16.
  const key = Buffer.from(
    "fdbabe1c9d3472007856e7190d01e9fe7c6ad7cbc8237830e77376634b373162" +
      "2eaf30d92e22a3886ff109279d9830dac727afb94a83ee6d8360cbdfa2cc0640",
    "hex",
  );
  const stored = `$scrypt$ln=10,r=8,p=16$${Buffer.from("NaCl").toString("base64").replace(/=+$/, "")}$${key
    .toString("base64")
    .replace(/=+$/, "")}`;

  assert.equal(await verifyPassword("password", stored), true);
  assert.equal(await verifyPassword("Password", stored), false);
});

test("same password gets different salts", async () => {
  const first = await hashPassword("same", FAST_LOG_N);
  const second = await hashPassword("same", FAST_LOG_N);

  assert.notEqual(first, second);
  assert.notDeepEqual(parts(first).salt, parts(second).salt);
  assert.equal(await verifyPassword("same", first), true);
  assert.equal(await verifyPassword("same", second), true);
});

test("edge-case passwords round-trip", async () => {
  for (const password of ["", " ", "🐦 pässwörd", "a\u0000b", "x".repeat(4096), "__proto__"]) {
    const hash = await hashPassword(password, FAST_LOG_N);
    assert.equal(await verifyPassword(password, hash), true, JSON.stringify(password.slice(0, 20)));
    assert.equal(await verifyPassword(`${password}!`, hash), false, JSON.stringify(password.slice(0, 20)));
  }
});

test("Unicode forms are not merged", async () => {
  // "é" as one code point and as "e" plus a combining accent: no normalisation is applied.
  const hash = await hashPassword("caf\u00e9", FAST_LOG_N);

  assert.equal(await verifyPassword("cafe\u0301", hash), false);
});

test("malformed stored hashes throw", async () => {
  const good = await hashPassword("secret", FAST_LOG_N);
  const { salt, key } = parts(good);
  const b64 = (bytes: Buffer) => bytes.toString("base64").replace(/=+$/, "");
  const malformed = [
    "",
    "plain text",
    good.replace("$scrypt$", "$argon2id$"),
    good.replace("ln=10", "ln=21"),
    good.replace("ln=10", "ln=0"),
    good.replace("r=8", "r=0"),
    good.replace("r=8", "r=33"),
    good.replace("p=1", "p=17"),
    good.replace("ln=10,r=8,p=1", "r=8,ln=10,p=1"),
    `$scrypt$ln=10,r=8,p=1$${b64(salt)}$${b64(key.subarray(0, 8))}`,
    `$scrypt$ln=10,r=8,p=1$${b64(salt)}$${b64(Buffer.concat([key, key, key]))}`,
    `$scrypt$ln=10,r=8,p=1$${b64(salt)}$`,
    `${good}=`,
    `${good}\n`,
  ];

  for (const stored of malformed) {
    await assert.rejects(verifyPassword("secret", stored), /^Error: Invalid password hash/, JSON.stringify(stored));
  }
  const error = await verifyPassword("secret", good.replace("ln=10", "ln=21")).catch((caught: unknown) => caught);
  assert.doesNotMatch(String(error), new RegExp(b64(key).slice(0, 12).replace(/[+/]/g, "\\$&")));
});

test("invalid cost is rejected", async () => {
  for (const logN of [0, 21, 1.5, Number.NaN, -1]) {
    await assert.rejects(hashPassword("secret", logN), RangeError, String(logN));
  }
});

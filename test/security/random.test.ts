import assert from "node:assert/strict";
import { test } from "node:test";
import { randomBytesFromPool } from "../../src/security/random.js";

test("pooled random bytes do not repeat", () => {
  // 4096 draws of 16 bytes cross the 4 KiB pool's refill sixteen times.
  const seen = new Set<string>();
  for (let index = 0; index < 4096; index++) seen.add(randomBytesFromPool(16).toString("hex"));
  assert.equal(seen.size, 4096);
});

test("pooled random bytes are copies", () => {
  const first = randomBytesFromPool(32);
  const copy = Buffer.from(first);
  // Enough draws to refill the pool, which must not change bytes already handed out.
  for (let index = 0; index < 300; index++) randomBytesFromPool(32);
  assert.deepEqual(first, copy);
});

test("pooled random bytes have the requested size", () => {
  for (const size of [0, 1, 12, 32, 4096]) assert.equal(randomBytesFromPool(size).length, size);
});

test("pooled random bytes reject invalid sizes", () => {
  for (const size of [-1, 1.5, 4097, Number.NaN]) {
    assert.throws(() => randomBytesFromPool(size), RangeError, String(size));
  }
});

test("pooled random bytes look uniform", () => {
  // 64 KiB of output: each byte value should appear about 256 times. A stuck or zeroed pool
  // would put most counts at 0; the bounds are over 10 standard deviations wide.
  const counts = new Array<number>(256).fill(0);
  for (let index = 0; index < 2048; index++) {
    for (const byte of randomBytesFromPool(32)) counts[byte] = (counts[byte] ?? 0) + 1;
  }
  assert.ok(Math.min(...counts) > 96, `min count ${String(Math.min(...counts))}`);
  assert.ok(Math.max(...counts) < 416, `max count ${String(Math.max(...counts))}`);
});

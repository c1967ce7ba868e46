import { randomFillSync } from "node:crypto";

// Per-request random values (GCM IVs, CSRF pads, CSP nonces) take their bytes from a pool that
// randomFillSync refills 4 KiB at a time. One call into OpenSSL per value took 3-4% of the CPU
// time in profiles of a session write and of a page render (bench/profile.ts, 2 CPUs).
const POOL_BYTES = 4096;
const pool = Buffer.alloc(POOL_BYTES);
let offset = POOL_BYTES;

/**
 * Returns `size` random bytes from node:crypto's CSPRNG, at most 4096. Each byte of the pool
 * is handed out once, and the result is a copy, so a later refill cannot change it.
 */
export function randomBytesFromPool(size: number): Buffer {
  if (!Number.isInteger(size) || size < 0 || size > POOL_BYTES) {
    throw new RangeError(
      `randomBytesFromPool size must be an integer from 0 to ${String(POOL_BYTES)}, got ${String(size)}`,
    );
  }
  if (offset + size > POOL_BYTES) {
    randomFillSync(pool);
    offset = 0;
  }
  const bytes = Buffer.from(pool.subarray(offset, offset + size));
  offset += size;
  return bytes;
}

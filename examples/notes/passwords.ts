/**
 * Password hashing with scrypt from node:crypto, stored as a PHC-style string:
 * `$scrypt$ln=16,r=8,p=1$<salt>$<hash>`, where `ln` is log2 of the cost N and salt and
 * hash are base64 without padding. The parameters travel with each hash, so hashes made
 * with another cost still verify after the default changes.
 *
 * NOTE: a stand-in until the framework ships its own `hashPassword`; replace this module then.
 */
import { randomBytes, scrypt as scryptCallback, timingSafeEqual, type ScryptOptions } from "node:crypto";
import { promisify } from "node:util";

// promisify picks the last overload of scrypt, which has no options argument.
const scrypt = promisify(scryptCallback) as (
  password: string,
  salt: Buffer,
  keyLength: number,
  options: ScryptOptions,
) => Promise<Buffer>;

/** log2 of scrypt's cost N for new hashes: N = 65,536, which needs 64 MiB per hash with r = 8. */
export const DEFAULT_SCRYPT_LOG_N = 16;

const BLOCK_SIZE = 8;
const PARALLELISM = 1;
const SALT_BYTES = 16;
const KEY_BYTES = 32;

/**
 * Largest accepted log2 of N, for new hashes and for stored ones, so a corrupted row cannot
 * ask for more memory: ln = 20 with r = 8 already needs 1 GiB.
 */
export const MAX_SCRYPT_LOG_N = 20;

// Bounds for the other parameters read back from a stored hash.
const MAX_BLOCK_SIZE = 32;
const MAX_PARALLELISM = 16;
const MIN_STORED_BYTES = 16;
const MAX_STORED_BYTES = 64;

const PHC_SCRYPT = /^\$scrypt\$ln=([0-9]{1,2}),r=([0-9]{1,2}),p=([0-9]{1,2})\$([A-Za-z0-9+/]+)\$([A-Za-z0-9+/]+)$/;

interface ScryptParameters {
  readonly logN: number;
  readonly blockSize: number;
  readonly parallelism: number;
}

function deriveKey(password: string, salt: Buffer, keyLength: number, parameters: ScryptParameters): Promise<Buffer> {
  const cost = 2 ** parameters.logN;
  // scrypt needs 128 * N * r bytes; OpenSSL rejects a limit of exactly that, so allow twice as much.
  const maxmem = 2 * 128 * cost * parameters.blockSize;
  return scrypt(password, salt, keyLength, {
    N: cost,
    r: parameters.blockSize,
    p: parameters.parallelism,
    maxmem,
  });
}

function toBase64(bytes: Buffer): string {
  return bytes.toString("base64").replace(/=+$/, "");
}

/**
 * Hashes `password` with a random 16-byte salt. `logN` sets the cost N = 2^logN (default
 * 16); only tests should lower it, to keep hashing fast. The password is hashed as its UTF-8
 * bytes without Unicode normalisation, so "é" typed as one or as two code points differs.
 */
export async function hashPassword(password: string, logN = DEFAULT_SCRYPT_LOG_N): Promise<string> {
  if (!Number.isInteger(logN) || logN < 1 || logN > MAX_SCRYPT_LOG_N) {
    throw new RangeError(`Invalid scrypt logN ${String(logN)}: use an integer from 1 to ${String(MAX_SCRYPT_LOG_N)}`);
  }
  const salt = randomBytes(SALT_BYTES);
  const parameters = { logN, blockSize: BLOCK_SIZE, parallelism: PARALLELISM };
  const hash = await deriveKey(password, salt, KEY_BYTES, parameters);
  return `$scrypt$ln=${String(logN)},r=${String(BLOCK_SIZE)},p=${String(PARALLELISM)}$${toBase64(salt)}$${toBase64(hash)}`;
}

/**
 * Returns whether `password` matches `stored`, a string made by {@link hashPassword}. The
 * comparison takes the same time wherever the hashes differ. Throws an Error when `stored`
 * is not a scrypt hash in that format or its parameters are out of bounds, because that is
 * a bug or corrupted data, not a wrong password. The message never contains the hash.
 */
export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const match = PHC_SCRYPT.exec(stored);
  if (match === null) {
    throw new Error("Invalid password hash: expected the format $scrypt$ln=<n>,r=<r>,p=<p>$<salt>$<hash>");
  }
  const [, logN, blockSize, parallelism, salt, hash] = match;
  const parameters = { logN: Number(logN), blockSize: Number(blockSize), parallelism: Number(parallelism) };
  const expected = Buffer.from(hash ?? "", "base64");
  if (
    parameters.logN < 1 ||
    parameters.logN > MAX_SCRYPT_LOG_N ||
    parameters.blockSize < 1 ||
    parameters.blockSize > MAX_BLOCK_SIZE ||
    parameters.parallelism < 1 ||
    parameters.parallelism > MAX_PARALLELISM ||
    expected.length < MIN_STORED_BYTES ||
    expected.length > MAX_STORED_BYTES
  ) {
    throw new Error(
      `Invalid password hash: parameters or hash length out of bounds ` +
        `(ln 1-${String(MAX_SCRYPT_LOG_N)}, r 1-${String(MAX_BLOCK_SIZE)}, p 1-${String(MAX_PARALLELISM)}, ` +
        `hash ${String(MIN_STORED_BYTES)}-${String(MAX_STORED_BYTES)} bytes)`,
    );
  }

  const actual = await deriveKey(password, Buffer.from(salt ?? "", "base64"), expected.length, parameters);
  return timingSafeEqual(actual, expected);
}

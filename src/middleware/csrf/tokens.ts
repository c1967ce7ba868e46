import { randomBytes, timingSafeEqual } from "node:crypto";
import { randomBytesFromPool } from "../../security/random.js";

/** Bytes of the per-session CSRF secret. */
export const SECRET_BYTES = 32;

/** Creates a new random CSRF secret, base64url-encoded. */
export function createSecret(): string {
  return randomBytes(SECRET_BYTES).toString("base64url");
}

/**
 * Masks the secret with a fresh random pad: the token is the pad followed by pad XOR secret.
 * Every rendered token differs, so compression side channels such as BREACH cannot recover
 * the secret from a page, yet every token unmasks to the same secret.
 */
export function maskSecret(secret: string): string {
  const secretBytes = Buffer.from(secret, "base64url");
  const pad = randomBytesFromPool(secretBytes.length);
  const masked = Buffer.alloc(secretBytes.length);
  for (let index = 0; index < secretBytes.length; index++) {
    masked[index] = (secretBytes[index] as number) ^ (pad[index] as number);
  }
  return Buffer.concat([pad, masked]).toString("base64url");
}

/** Length of a token: the pad and the masked secret, 64 bytes, in base64url without padding. */
const TOKEN_LENGTH = Math.ceil((SECRET_BYTES * 2 * 4) / 3);

/**
 * The last character of a token carries 2 bits of data and 4 bits that must be zero, which
 * leaves these four characters.
 */
const CANONICAL_LAST_CHARACTERS = new Set(["A", "Q", "g", "w"]);

/**
 * True when `token` unmasks to `secret`, compared in constant time. Only the canonical
 * base64url spelling is accepted: the decoder ignores the low bits of the last character, so
 * without the check several spellings would pass for one token.
 */
export function tokenMatches(token: string, secret: string): boolean {
  if (token.length !== TOKEN_LENGTH || !CANONICAL_LAST_CHARACTERS.has(token.charAt(TOKEN_LENGTH - 1))) return false;
  if (!/^[A-Za-z0-9_-]+$/.test(token)) return false;
  const tokenBytes = Buffer.from(token, "base64url");
  const secretBytes = Buffer.from(secret, "base64url");
  if (secretBytes.length !== SECRET_BYTES || tokenBytes.length !== SECRET_BYTES * 2) return false;
  const unmasked = Buffer.alloc(SECRET_BYTES);
  for (let index = 0; index < SECRET_BYTES; index++) {
    unmasked[index] = (tokenBytes[index] as number) ^ (tokenBytes[index + SECRET_BYTES] as number);
  }
  return timingSafeEqual(unmasked, secretBytes);
}

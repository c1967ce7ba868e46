import { randomBytes, timingSafeEqual } from "node:crypto";

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
  const pad = randomBytes(secretBytes.length);
  const masked = Buffer.alloc(secretBytes.length);
  for (let index = 0; index < secretBytes.length; index++) {
    masked[index] = (secretBytes[index] as number) ^ (pad[index] as number);
  }
  return Buffer.concat([pad, masked]).toString("base64url");
}

/**
 * True when `token` unmasks to `secret`, compared in constant time. Only the canonical
 * base64url spelling is accepted: the decoder ignores the low bits of the last character, so
 * without the check several spellings would pass for one token.
 */
export function tokenMatches(token: string, secret: string): boolean {
  if (!/^[A-Za-z0-9_-]+$/.test(token)) return false;
  const tokenBytes = Buffer.from(token, "base64url");
  if (tokenBytes.toString("base64url") !== token) return false;
  const secretBytes = Buffer.from(secret, "base64url");
  if (secretBytes.length !== SECRET_BYTES || tokenBytes.length !== SECRET_BYTES * 2) return false;
  const unmasked = Buffer.alloc(SECRET_BYTES);
  for (let index = 0; index < SECRET_BYTES; index++) {
    unmasked[index] = (tokenBytes[index] as number) ^ (tokenBytes[index + SECRET_BYTES] as number);
  }
  return timingSafeEqual(unmasked, secretBytes);
}

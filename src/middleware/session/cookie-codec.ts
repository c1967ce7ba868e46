import { createCipheriv, createDecipheriv } from "node:crypto";
import { randomBytesFromPool } from "../../security/random.js";

// Layout of a sealed value before base64url: version (1 byte), IV (12), ciphertext, GCM tag (16).
const VERSION = 1;
const IV_BYTES = 12;
const TAG_BYTES = 16;
const OVERHEAD = 1 + IV_BYTES + TAG_BYTES;

const VERSION_BYTE = Buffer.of(VERSION);

/** Returns the length of the base64url text that sealing `plaintextBytes` bytes produces. */
export function sealedLength(plaintextBytes: number): number {
  return Math.ceil(((OVERHEAD + plaintextBytes) * 4) / 3);
}

/**
 * Encrypts and authenticates `plaintext` with AES-256-GCM under `key`, a fresh random IV per
 * call, and `associatedData` bound into the tag, so a value sealed for one cookie name or
 * purpose does not open under another.
 */
export function seal(key: Buffer, associatedData: Buffer, plaintext: string): string {
  const iv = randomBytesFromPool(IV_BYTES);
  const cipher = createCipheriv("aes-256-gcm", key, iv, { authTagLength: TAG_BYTES });
  cipher.setAAD(associatedData);
  const ciphertext = Buffer.concat([cipher.update(plaintext, "utf8"), cipher.final()]);
  return Buffer.concat([VERSION_BYTE, iv, ciphertext, cipher.getAuthTag()]).toString("base64url");
}

/**
 * Opens a sealed value with the first of `keys` that authenticates it. Returns the plaintext
 * and the index of that key, or null for anything tampered, truncated, malformed or sealed
 * under an unknown key.
 */
export function open(
  keys: readonly Buffer[],
  associatedData: Buffer,
  sealed: string,
): { plaintext: string; keyIndex: number } | null {
  if (!/^[A-Za-z0-9_-]+$/.test(sealed)) return null;
  const bytes = Buffer.from(sealed, "base64url");
  if (bytes.length < OVERHEAD || bytes[0] !== VERSION) return null;
  const iv = bytes.subarray(1, 1 + IV_BYTES);
  const ciphertext = bytes.subarray(1 + IV_BYTES, bytes.length - TAG_BYTES);
  const tag = bytes.subarray(bytes.length - TAG_BYTES);
  for (const [keyIndex, key] of keys.entries()) {
    try {
      const decipher = createDecipheriv("aes-256-gcm", key, iv, { authTagLength: TAG_BYTES });
      decipher.setAAD(associatedData);
      decipher.setAuthTag(tag);
      const plaintext = Buffer.concat([decipher.update(ciphertext), decipher.final()]).toString("utf8");
      return { plaintext, keyIndex };
    } catch {
      // Authentication failed under this key; try the next one.
    }
  }
  return null;
}

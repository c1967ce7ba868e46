import { randomBytes, scrypt as scryptCallback, timingSafeEqual, type ScryptOptions } from "node:crypto";
import { availableParallelism } from "node:os";
import { ChirpError } from "../app/errors.js";

/** Maximum password length, in characters; longer ones are rejected before any hashing. */
export const MAX_PASSWORD_LENGTH = 1024;

/** argon2id cost: 19 MiB of memory, 2 passes, 1 lane (the OWASP password storage minimum). */
export const ARGON2_PARAMETERS = Object.freeze({ memoryCost: 19_456, timeCost: 2, parallelism: 1 });
/** scrypt cost when argon2 is not installed: N = 2^16, r = 8, p = 1. */
export const SCRYPT_PARAMETERS = Object.freeze({ logN: 16, r: 8, p: 1 });

const SALT_BYTES = 16;
const HASH_BYTES = 32;
const MAX_SCRYPT_LOG_N = 22;

/** A password that cannot be hashed: empty, too long or not a string. */
export class InvalidPasswordError extends ChirpError {
  readonly code = "CHIRP_INVALID_PASSWORD";
  readonly status = 400;

  constructor(message: string) {
    super(message);
    this.name = "InvalidPasswordError";
  }
}

/** A stored hash that needs an algorithm that is not installed. */
export class PasswordAlgorithmUnavailableError extends ChirpError {
  readonly code = "CHIRP_PASSWORD_ALGORITHM_UNAVAILABLE";
  readonly status = 500;

  constructor(message: string) {
    super(message);
    this.name = "PasswordAlgorithmUnavailableError";
  }
}

export interface Argon2Module {
  hash(
    password: string,
    options: { memoryCost: number; timeCost: number; parallelism: number; algorithm: number },
  ): Promise<string>;
  verify(hashed: string, password: string): Promise<boolean>;
}

let argon2Module: Promise<Argon2Module | null> | undefined;

/**
 * Hashes running at once in this process. Each hash keeps a CPU core busy, so with one core
 * left for the event loop, ordinary requests keep being served while logins queue.
 */
let hashSlots = Math.max(1, availableParallelism() - 1);
const waiting: (() => void)[] = [];

/** Runs `work` when a hashing slot is free; later callers wait in order. */
async function withHashSlot<T>(work: () => Promise<T>): Promise<T> {
  if (hashSlots === 0) await new Promise<void>((resolve) => waiting.push(resolve));
  else hashSlots -= 1;
  try {
    return await work();
  } finally {
    const next = waiting.shift();
    if (next === undefined) hashSlots += 1;
    else next();
  }
}

/** Loads `@node-rs/argon2` once; null when it is not installed. */
function loadArgon2(): Promise<Argon2Module | null> {
  argon2Module ??= import("@node-rs/argon2").then(
    (module) => module as unknown as Argon2Module,
    () => null,
  );
  return argon2Module;
}

/**
 * @internal Replaces the argon2 module, or simulates its absence with null, for tests.
 * Pass undefined to load the installed package again.
 */
export function setArgon2ModuleForTests(module: Argon2Module | null | undefined): void {
  argon2Module = module === undefined ? undefined : Promise.resolve(module);
}

/** Returns the algorithm new hashes use: argon2id with `@node-rs/argon2` installed, else scrypt. */
export async function preferredAlgorithm(): Promise<"argon2id" | "scrypt"> {
  return (await loadArgon2()) === null ? "scrypt" : "argon2id";
}

function checkPassword(password: unknown): string | null {
  if (typeof password !== "string") return "The password must be a string";
  if (password.length === 0) return "The password is empty";
  if (password.length > MAX_PASSWORD_LENGTH) {
    return `The password is longer than ${String(MAX_PASSWORD_LENGTH)} characters`;
  }
  return null;
}

function scrypt(password: string, salt: Buffer, length: number, logN: number, r: number, p: number): Promise<Buffer> {
  const N = 2 ** logN;
  // scrypt needs 128 × N × r bytes; twice that leaves room above Node's 32 MiB default.
  const options: ScryptOptions = { N, r, p, maxmem: 256 * N * r + 1024 * 1024 };
  return new Promise((resolve, reject) => {
    scryptCallback(password, salt, length, options, (error, key) => {
      if (error) reject(error);
      else resolve(key);
    });
  });
}

function encodeBase64(bytes: Buffer): string {
  return bytes.toString("base64").replace(/=+$/, "");
}

interface ScryptHash {
  logN: number;
  r: number;
  p: number;
  salt: Buffer;
  hash: Buffer;
}

// $scrypt$ln=<log2 N>,r=<r>,p=<p>$<salt>$<hash>, salt and hash in unpadded base64 as PHC strings use.
const SCRYPT_PHC = /^\$scrypt\$ln=(\d{1,2}),r=(\d{1,3}),p=(\d{1,3})\$([A-Za-z0-9+/]{2,})\$([A-Za-z0-9+/]{22,})$/;
const ARGON2_PHC = /^\$argon2(id|i|d)\$v=(\d+)\$m=(\d+),t=(\d+),p=(\d+)\$[A-Za-z0-9+/]+\$[A-Za-z0-9+/]+$/;

function parseScrypt(stored: string): ScryptHash | null {
  const match = SCRYPT_PHC.exec(stored);
  if (match === null) return null;
  const [logN, r, p] = [Number(match[1]), Number(match[2]), Number(match[3])];
  if (logN < 1 || logN > MAX_SCRYPT_LOG_N || r < 1 || p < 1 || r * p >= 2 ** 30) return null;
  return { logN, r, p, salt: Buffer.from(match[4] ?? "", "base64"), hash: Buffer.from(match[5] ?? "", "base64") };
}

/**
 * Hashes a password for storage, as a PHC string: argon2id (m=19456 KiB, t=2, p=1) when
 * `@node-rs/argon2` is installed, else scrypt (N=2^16, r=8, p=1) from node:crypto. Both run
 * on libuv's thread pool, off the event loop. Throws InvalidPasswordError for an empty
 * password or one over 1,024 characters, before any hashing.
 */
export async function hashPassword(password: string): Promise<string> {
  const problem = checkPassword(password);
  if (problem !== null) throw new InvalidPasswordError(problem);
  const argon2 = await loadArgon2();
  if (argon2 !== null) {
    // Algorithm 2 is argon2id in @node-rs/argon2's enumeration.
    return withHashSlot(() => argon2.hash(password, { ...ARGON2_PARAMETERS, algorithm: 2 }));
  }
  const { logN, r, p } = SCRYPT_PARAMETERS;
  const salt = randomBytes(SALT_BYTES);
  const hash = await withHashSlot(() => scrypt(password, salt, HASH_BYTES, logN, r, p));
  return `$scrypt$ln=${String(logN)},r=${String(r)},p=${String(p)}$${encodeBase64(salt)}$${encodeBase64(hash)}`;
}

/**
 * Checks a password against a stored hash, reading the algorithm and its parameters from
 * the hash, so hashes made under older parameters still verify. Returns false for a wrong
 * password, an empty or over-long one (without hashing), and a malformed stored hash.
 * Throws PasswordAlgorithmUnavailableError for an argon2 hash when `@node-rs/argon2` is
 * not installed.
 */
export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  if (checkPassword(password) !== null || typeof stored !== "string") return false;
  if (stored.startsWith("$argon2")) {
    if (!ARGON2_PHC.test(stored)) return false;
    const argon2 = await loadArgon2();
    if (argon2 === null) {
      throw new PasswordAlgorithmUnavailableError(
        "This password hash uses argon2, but @node-rs/argon2 is not installed: run npm install @node-rs/argon2",
      );
    }
    try {
      return await withHashSlot(() => argon2.verify(stored, password));
    } catch {
      return false;
    }
  }
  const parsed = parseScrypt(stored);
  if (parsed === null || parsed.hash.length < 16) return false;
  const computed = await withHashSlot(() =>
    scrypt(password, parsed.salt, parsed.hash.length, parsed.logN, parsed.r, parsed.p),
  );
  return timingSafeEqual(computed, parsed.hash);
}

/**
 * True when a stored hash should be replaced by a new `hashPassword` result at the next
 * successful login: another algorithm than the preferred one, weaker parameters, or a
 * hash this module cannot read.
 */
export async function needsRehash(stored: string): Promise<boolean> {
  const preferred = await preferredAlgorithm();
  if (preferred === "argon2id") {
    const match = ARGON2_PHC.exec(stored);
    if (match === null || match[1] !== "id") return true;
    const [memory, time, lanes] = [Number(match[3]), Number(match[4]), Number(match[5])];
    return (
      match[2] !== "19" ||
      memory !== ARGON2_PARAMETERS.memoryCost ||
      time !== ARGON2_PARAMETERS.timeCost ||
      lanes !== ARGON2_PARAMETERS.parallelism
    );
  }
  const parsed = parseScrypt(stored);
  if (parsed === null) return true;
  return parsed.logN !== SCRYPT_PARAMETERS.logN || parsed.r !== SCRYPT_PARAMETERS.r || parsed.p !== SCRYPT_PARAMETERS.p;
}

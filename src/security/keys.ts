import { hkdfSync } from "node:crypto";
import { ConfigurationError } from "../app/errors.js";

/** Minimum length of a secret key, in bytes of its UTF-8 encoding. */
export const MIN_SECRET_BYTES = 32;

/** The purpose of a derived key; a key derived for one purpose never verifies another's output. */
export type KeyPurpose = "session" | "csrf" | "password-reset";

const GENERATE_HINT = "Generate one with `npx chirp secret` and set it in CHIRP_SECRET_KEY.";

/**
 * The application's secret keys, newest first. The first key encrypts and signs; the others
 * only open or verify what older keys produced, so keys can be rotated without logging
 * everybody out.
 */
export class SecretKeys {
  readonly #secrets: readonly Buffer[];
  readonly #derived = new Map<KeyPurpose, readonly Buffer[]>();

  private constructor(secrets: readonly Buffer[]) {
    this.#secrets = secrets;
  }

  /**
   * Reads keys from an option (a string or an array, newest first), else from the
   * `CHIRP_SECRET_KEY` variable, where several keys are separated by commas. Throws a
   * ConfigurationError naming `optionName` when a key is missing or shorter than 32 bytes.
   */
  static resolve(
    option: string | readonly string[] | undefined,
    optionName: string,
    environment: NodeJS.ProcessEnv = process.env,
  ): SecretKeys {
    let keys: readonly string[];
    let source: string;
    if (option !== undefined) {
      keys = typeof option === "string" ? [option] : option;
      source = optionName;
    } else {
      keys = (environment.CHIRP_SECRET_KEY ?? "").split(",").filter((key) => key.trim() !== "");
      source = "CHIRP_SECRET_KEY";
    }
    if (keys.length === 0) {
      throw new ConfigurationError(
        `The secret key is missing: pass ${optionName} or set CHIRP_SECRET_KEY. ${GENERATE_HINT}`,
      );
    }
    const secrets = keys.map((key, index) => {
      if (typeof key !== "string") {
        throw new ConfigurationError(`${source} must be a string or an array of strings, got ${typeof key}`);
      }
      const bytes = Buffer.from(key.trim(), "utf8");
      if (bytes.length < MIN_SECRET_BYTES) {
        const which = keys.length > 1 ? `key ${String(index + 1)} of ${source}` : source;
        throw new ConfigurationError(
          `The secret key in ${which} is ${String(bytes.length)} bytes long; at least ${String(MIN_SECRET_BYTES)} are required. ${GENERATE_HINT}`,
        );
      }
      return bytes;
    });
    return new SecretKeys(secrets);
  }

  /**
   * Returns the keys for one purpose, newest first: 32 bytes each, derived from the secrets
   * with HKDF-SHA-256 (RFC 5869) using the purpose as the info string.
   */
  derive(purpose: KeyPurpose): readonly Buffer[] {
    let keys = this.#derived.get(purpose);
    if (keys === undefined) {
      keys = this.#secrets.map((secret) =>
        Buffer.from(hkdfSync("sha256", secret, "bengal-chirp", `bengal-chirp/${purpose}/v1`, 32)),
      );
      this.#derived.set(purpose, keys);
    }
    return keys;
  }
}

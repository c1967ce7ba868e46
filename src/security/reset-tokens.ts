import { createHmac, timingSafeEqual } from "node:crypto";
import { ConfigurationError } from "../app/errors.js";
import { checkOptionKeys } from "../app/options.js";
import type { Request } from "../http/request.js";
import { emitSecurityEvent } from "./audit.js";
import { SecretKeys } from "./keys.js";
import type { AuthUser } from "./users.js";

/** Options of {@link PasswordResetTokens}. */
export interface PasswordResetTokensOptions<User extends AuthUser> {
  /** Secret key or keys, newest first. Default: `CHIRP_SECRET_KEY`. */
  secretKey?: string | readonly string[];
  /** How long a token is valid. Default 3600. */
  maxAgeSeconds?: number;
  /**
   * Returns state that changes when the token must stop working, such as the password hash
   * and the session version. A token works only while this is unchanged, so it dies once it
   * is used to set a new password.
   */
  userState: (user: User) => string;
  /** Clock in epoch milliseconds, for tests. Default `Date.now`. */
  clock?: () => number;
}

const MAX_TOKEN_LENGTH = 512;
const TOKEN = /^([A-Za-z0-9_-]{1,256})\.([0-9a-z]{1,12})\.([A-Za-z0-9_-]{43})$/;

/**
 * Password reset tokens that need no storage: each token is the user id, an expiry time and
 * an HMAC-SHA-256 over both and the user's current state, under a key derived for password
 * resets from the secret. A token cannot be forged or extended, stops at its expiry, and
 * stops once the user's state changes, for example when the password is set.
 */
export class PasswordResetTokens<User extends AuthUser = AuthUser> {
  readonly #keys: readonly Buffer[];
  readonly #maxAgeMs: number;
  readonly #userState: (user: User) => string;
  readonly #clock: () => number;

  constructor(options: PasswordResetTokensOptions<User>) {
    checkOptionKeys("PasswordResetTokens", options, ["secretKey", "maxAgeSeconds", "userState", "clock"]);
    if (typeof (options as Partial<PasswordResetTokensOptions<User>>).userState !== "function") {
      throw new ConfigurationError(
        "PasswordResetTokens needs userState, such as (user) => user.passwordHash + user.sessionVersion",
      );
    }
    const maxAge = options.maxAgeSeconds ?? 3600;
    if (!Number.isFinite(maxAge) || maxAge <= 0) {
      throw new ConfigurationError(
        `PasswordResetTokens maxAgeSeconds must be a positive number, got ${String(maxAge)}`,
      );
    }
    this.#keys = SecretKeys.resolve(options.secretKey, "secretKey").derive("password-reset");
    this.#maxAgeMs = maxAge * 1000;
    this.#userState = options.userState;
    this.#clock = options.clock ?? Date.now;
  }

  /** Creates a token for `user`; with `req`, emits `password.reset.requested`. */
  createToken(user: User, req?: Request): string {
    const id = Buffer.from(user.id, "utf8").toString("base64url");
    const expires = Math.ceil((this.#clock() + this.#maxAgeMs) / 1000).toString(36);
    const payload = `${id}.${expires}`;
    if (req !== undefined) emitSecurityEvent("password.reset.requested", { req, userId: user.id });
    return `${payload}.${this.#sign(this.#keys[0] as Buffer, payload, user)}`;
  }

  /**
   * Returns the user a token was made for, or null when the token is malformed, forged,
   * expired, for an unknown user, or made before the user's state changed. With `req`, a
   * failure emits `password.reset.invalid` with the reason.
   */
  async verifyToken(
    token: unknown,
    loadUser: (id: string) => User | null | Promise<User | null>,
    req?: Request,
  ): Promise<User | null> {
    const reject = (reason: string, userId: string | null = null): null => {
      if (req !== undefined) emitSecurityEvent("password.reset.invalid", { req, userId, details: { reason } });
      return null;
    };
    if (typeof token !== "string" || token.length > MAX_TOKEN_LENGTH) return reject("malformed");
    const match = TOKEN.exec(token);
    if (match === null) return reject("malformed");
    const [, encodedId = "", expires = "", signature = ""] = match;
    const id = Buffer.from(encodedId, "base64url").toString("utf8");
    if (Buffer.from(id, "utf8").toString("base64url") !== encodedId) return reject("malformed");
    if (Number.parseInt(expires, 36) * 1000 <= this.#clock()) return reject("expired", id);

    const user = await loadUser(id);
    if (user === null) return reject("unknown_user", id);
    const payload = `${encodedId}.${expires}`;
    const given = Buffer.from(signature, "base64url");
    // Base64url ignores the spare bits of the last character; only the canonical spelling counts.
    if (given.toString("base64url") !== signature) return reject("malformed", id);
    for (const key of this.#keys) {
      const expected = Buffer.from(this.#sign(key, payload, user), "base64url");
      if (expected.length === given.length && timingSafeEqual(expected, given)) return user;
    }
    return reject("signature", id);
  }

  /** Emits `password.reset.completed`; call it after the new password is saved. */
  recordCompleted(req: Request, user: User): void {
    emitSecurityEvent("password.reset.completed", { req, userId: user.id });
  }

  #sign(key: Buffer, payload: string, user: User): string {
    // The state goes in after a separator that base64url and the expiry never contain.
    return createHmac("sha256", key)
      .update(`${payload}\n${this.#userState(user)}`)
      .digest("base64url");
  }
}

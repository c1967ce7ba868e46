import { randomBytes } from "node:crypto";
import type { Request } from "../http/request.js";
import { emitSecurityEvent } from "./audit.js";
import { normalizeIdentifier } from "./identifiers.js";
import type { LoginLockout } from "./lockout.js";
import { login } from "./login.js";
import { hashPassword, needsRehash, verifyPassword } from "./passwords.js";
import type { AuthUser } from "./users.js";

/** The account `findUser` resolves to: the user and its stored password hash. */
export interface PasswordAccount<User extends AuthUser> {
  user: User;
  passwordHash: string;
}

/** Options of {@link passwordLogin}. */
export interface PasswordLoginOptions<User extends AuthUser> {
  /** The identifier the person typed, such as a username or email address. */
  identifier: string;
  password: string;
  /** Looks the account up by the normalised identifier; null when there is none. */
  findUser: (normalizedIdentifier: string) => PasswordAccount<User> | null | Promise<PasswordAccount<User> | null>;
  /** Counts failures per identifier and refuses locked ones. */
  lockout?: LoginLockout;
  /** Stores a new hash made with current parameters, called after a successful login. */
  onRehash?: (user: User, newHash: string) => void | Promise<void>;
}

/** The outcome of {@link passwordLogin}; a failure does not tell an unknown user from a wrong password. */
export type PasswordLoginResult<User extends AuthUser> =
  { ok: true; user: User } | { ok: false; reason: "invalid" } | { ok: false; reason: "locked"; retryAfter: number };

let dummyHash: Promise<string> | undefined;

/** Returns a hash of a random password at the current cost, verified when the account is unknown. */
function costlyDummyHash(): Promise<string> {
  dummyHash ??= hashPassword(randomBytes(24).toString("base64url"));
  return dummyHash;
}

/**
 * Logs a person in with an identifier and password in one call. It checks the lockout and
 * verifies the password in constant time against the stored hash. When the account is
 * unknown or locked, it verifies against a dummy hash of the same cost instead. On success
 * it rehashes an outdated hash, clears the lockout and calls `login()`; every outcome
 * emits `auth.login.success` or `auth.login.failure`.
 *
 * An unknown identifier and a wrong password give the same result, and take about as long.
 * A locked identifier gives `reason: "locked"` with the seconds to wait.
 */
export async function passwordLogin<User extends AuthUser>(
  req: Request,
  options: PasswordLoginOptions<User>,
): Promise<PasswordLoginResult<User>> {
  const identifier = normalizeIdentifier(typeof options.identifier === "string" ? options.identifier : "");
  const password = typeof options.password === "string" ? options.password : "";
  const lockout = options.lockout;

  const status = lockout === undefined || identifier === "" ? null : await lockout.status(identifier);
  if (status?.locked === true) {
    // The same work as a real check, so timing does not reveal that the account is locked.
    await verifyPassword(password, await costlyDummyHash());
    emitSecurityEvent("auth.login.failure", { req, details: { identifier, reason: "locked" } });
    return { ok: false, reason: "locked", retryAfter: status.retryAfterSeconds };
  }

  const account = identifier === "" ? null : await options.findUser(identifier);
  const storedHash = account?.passwordHash ?? (await costlyDummyHash());
  const matches = await verifyPassword(password, storedHash);

  if (account === null || !matches) {
    emitSecurityEvent("auth.login.failure", {
      req,
      userId: account?.user.id ?? null,
      details: { identifier, reason: account === null ? "unknown_identifier" : "wrong_password" },
    });
    const after = lockout === undefined || identifier === "" ? null : await lockout.recordFailure(identifier, req);
    if (after?.locked === true) return { ok: false, reason: "locked", retryAfter: after.retryAfterSeconds };
    return { ok: false, reason: "invalid" };
  }

  if (options.onRehash !== undefined && (await needsRehash(storedHash))) {
    await options.onRehash(account.user, await hashPassword(password));
  }
  await lockout?.recordSuccess(identifier);
  login(req, account.user);
  return { ok: true, user: account.user };
}

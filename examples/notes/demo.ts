import { randomBytes } from "node:crypto";
import type { UserStore } from "./users.js";

/** The accounts created on first start, and their shared password. */
export interface DemoAccounts {
  readonly emails: readonly string[];
  readonly password: string;
}

const DEMO_USERS = [
  { email: "alice@example.com", name: "Alice", isAdmin: false },
  { email: "admin@example.com", name: "Admin", isAdmin: true },
] as const;

/** Emails of the demo accounts: a normal user and an admin. */
export const DEMO_EMAILS: readonly string[] = DEMO_USERS.map((user) => user.email);

/** Returns a random password of 16 base64url characters (96 bits). */
export function randomDemoPassword(): string {
  return randomBytes(12).toString("base64url");
}

/**
 * Creates the demo accounts, all with `password`, when the users table is empty, which is
 * the first start on a new database. Returns the accounts it created, or null when users
 * existed already; their password is then whatever it was on the first start.
 */
export async function createDemoAccounts(users: UserStore, password: string): Promise<DemoAccounts | null> {
  if (users.count() > 0) return null;
  // One after the other, so the ids follow the order of DEMO_USERS.
  for (const user of DEMO_USERS) await users.create({ ...user, password });
  return { emails: DEMO_EMAILS, password };
}

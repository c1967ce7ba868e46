import assert from "node:assert/strict";
import { scryptSync } from "node:crypto";
import { availableParallelism } from "node:os";
import { afterEach, describe, test } from "node:test";
import { argon2Verify, argon2id } from "hash-wasm";
import { App } from "../../src/index.js";
import { AuthMiddleware, SessionMiddleware } from "../../src/middleware/index.js";
import {
  InvalidPasswordError,
  LoginLockout,
  PasswordAlgorithmUnavailableError,
  PasswordResetTokens,
  hashPassword,
  login,
  needsRehash,
  passwordLogin,
  setSecurityEventSink,
  verifyPassword,
  type PasswordLoginResult,
  type SecurityEvent,
} from "../../src/security/index.js";
import { setArgon2ModuleForTests, type Argon2Module } from "../../src/security/passwords.js";
import { TestClient } from "../../src/testing/index.js";
import { captureLogger } from "../helpers.js";

const SECRET = "password-tests-secret-key-0123456789-abcdefghijk";
const events: SecurityEvent[] = [];

afterEach(() => {
  setArgon2ModuleForTests(undefined);
  setSecurityEventSink(null);
  events.length = 0;
});

function recordEvents(): void {
  setSecurityEventSink((event) => {
    events.push(event);
  });
}

/** Wraps the installed argon2 module to count calls. */
async function countingArgon2(): Promise<{ calls: { hash: number; verify: number } }> {
  const real = (await import("@node-rs/argon2")) as unknown as Argon2Module;
  const calls = { hash: 0, verify: 0 };
  setArgon2ModuleForTests({
    hash: (password, options) => {
      calls.hash += 1;
      return real.hash(password, options);
    },
    verify: (hashed, password) => {
      calls.verify += 1;
      return real.verify(hashed, password);
    },
  });
  return { calls };
}

describe("password hashing", () => {
  test("argon2id round-trip", async () => {
    const hash = await hashPassword("correct horse battery staple");
    assert.match(hash, /^\$argon2id\$v=19\$m=19456,t=2,p=1\$/);
    assert.equal(await verifyPassword("correct horse battery staple", hash), true);
    assert.equal(await verifyPassword("correct horse battery stapler", hash), false);
    assert.notEqual(await hashPassword("correct horse battery staple"), hash, "salted");
    assert.equal(await needsRehash(hash), false);
  });

  test("scrypt round-trip without argon2", async () => {
    setArgon2ModuleForTests(null);
    const hash = await hashPassword("pässwörd ✓");
    assert.match(hash, /^\$scrypt\$ln=16,r=8,p=1\$[A-Za-z0-9+/]{22}\$[A-Za-z0-9+/]{43}$/);
    assert.equal(await verifyPassword("pässwörd ✓", hash), true);
    assert.equal(await verifyPassword("passwörd ✓", hash), false);
    assert.equal(await needsRehash(hash), false);
  });

  test("scrypt matches node:crypto for the stored parameters", async () => {
    setArgon2ModuleForTests(null);
    const hash = await hashPassword("hunter2");
    const [, , , salt = "", stored = ""] = hash.split("$");
    const expected = scryptSync("hunter2", Buffer.from(salt, "base64"), 32, {
      N: 2 ** 16,
      r: 8,
      p: 1,
      maxmem: 256 * 1024 * 1024,
    });
    assert.equal(expected.toString("base64").replace(/=+$/, ""), stored);
  });

  test("scrypt RFC 7914 test vector", async () => {
    // RFC 7914 section 12: scrypt("password", "NaCl", N=1024, r=8, p=16, dkLen=64).
    const key = Buffer.from(
      "fdbabe1c9d3472007856e7190d01e9fe7c6ad7cbc8237830e77376634b3731622eaf30d92e22a3886ff109279d9830dac727afb94a83ee6d8360cbdfa2cc0640",
      "hex",
    );
    const phc = `$scrypt$ln=10,r=8,p=16$${Buffer.from("NaCl").toString("base64").replace(/=+$/, "")}$${key.toString("base64").replace(/=+$/, "")}`;
    assert.equal(await verifyPassword("password", phc), true);
    assert.equal(await verifyPassword("passwore", phc), false);
    assert.equal(await needsRehash(phc), true);
  });

  test("argon2 cross-verifies with another implementation", async () => {
    const salt = Buffer.from("0123456789abcdef");
    const foreign = await argon2id({
      password: "s3cret",
      salt,
      parallelism: 1,
      iterations: 2,
      memorySize: 19_456,
      hashLength: 32,
      outputType: "encoded",
    });
    assert.equal(await verifyPassword("s3cret", foreign), true);
    assert.equal(await verifyPassword("s3cret!", foreign), false);
    assert.equal(await needsRehash(foreign), false);

    const ours = await hashPassword("s3cret");
    assert.equal(await argon2Verify({ password: "s3cret", hash: ours }), true);
  });

  test("older argon2 parameters need a rehash", async () => {
    const older = await argon2id({
      password: "pw",
      salt: Buffer.alloc(16, 7),
      parallelism: 1,
      iterations: 3,
      memorySize: 8192,
      hashLength: 32,
      outputType: "encoded",
    });
    assert.equal(await verifyPassword("pw", older), true);
    assert.equal(await needsRehash(older), true);
    assert.equal(await needsRehash(await hashPassword("pw")), false);
  });

  test("scrypt hash needs a rehash once argon2 is installed", async () => {
    setArgon2ModuleForTests(null);
    const scryptHash = await hashPassword("pw");
    setArgon2ModuleForTests(undefined);
    assert.equal(await needsRehash(scryptHash), true);
    assert.equal(await verifyPassword("pw", scryptHash), true);
  });

  test("length limits reject before hashing", async () => {
    const { calls } = await countingArgon2();
    await assert.rejects(hashPassword(""), InvalidPasswordError);
    await assert.rejects(hashPassword("x".repeat(1025)), /longer than 1024/);
    await assert.rejects(hashPassword(42 as never), InvalidPasswordError);
    const stored = await hashPassword("x".repeat(1024));
    assert.equal(calls.hash, 1);
    assert.equal(await verifyPassword("", stored), false);
    assert.equal(await verifyPassword("x".repeat(1025), stored), false);
    assert.equal(calls.verify, 0);
    assert.equal(await verifyPassword("x".repeat(1024), stored), true);
  });

  test("hashes run at most one per spare core", async () => {
    let running = 0;
    let peak = 0;
    const slow = async (): Promise<void> => {
      running += 1;
      peak = Math.max(peak, running);
      await new Promise((resolve) => setTimeout(resolve, 20));
      running -= 1;
    };
    setArgon2ModuleForTests({
      hash: async () => {
        await slow();
        return "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNo";
      },
      verify: async () => {
        await slow();
        return false;
      },
    });
    await Promise.all(
      Array.from({ length: 8 }, (_, index) =>
        index % 2 === 0
          ? hashPassword("pw")
          : verifyPassword("pw", "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNo"),
      ),
    );
    assert.equal(peak, Math.max(1, availableParallelism() - 1));
    assert.equal(running, 0);
  });

  test("malformed stored hashes return false", async () => {
    for (const stored of [
      "",
      "plaintext",
      "$argon2id$garbage",
      "$argon2id$v=19$m=19456,t=2,p=1$$",
      "$scrypt$ln=99,r=8,p=1$AAAAAAAAAAAAAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
      "$scrypt$ln=16,r=0,p=1$AAAAAAAAAAAAAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
      "$scrypt$ln=16,r=8,p=1$short$short",
      "$bcrypt$10$abc",
      null as unknown as string,
    ]) {
      assert.equal(await verifyPassword("password", stored), false, stored);
    }
  });

  test("argon2 hash without argon2 names the fix", async () => {
    const hash = await hashPassword("pw");
    setArgon2ModuleForTests(null);
    await assert.rejects(
      verifyPassword("pw", hash),
      (error: Error) =>
        error instanceof PasswordAlgorithmUnavailableError && /npm install @node-rs\/argon2/.test(error.message),
    );
  });
});

interface User {
  id: string;
  email: string;
  passwordHash: string;
  version: number;
  permissions: string[];
}

async function loginApp() {
  const users = new Map<string, User>();
  const alice: User = {
    id: "u1",
    email: "alice@example.com",
    passwordHash: await hashPassword("right password"),
    version: 1,
    permissions: [],
  };
  users.set(alice.id, alice);
  const lockout = new LoginLockout({ maxFailures: 3 });
  const rehashed: string[] = [];
  const app = new App({ env: "test", logger: captureLogger() });
  app.addMiddleware(new SessionMiddleware({ secretKey: SECRET }));
  app.addMiddleware(
    new AuthMiddleware<User>({ loadUser: (id) => users.get(id) ?? null, sessionVersion: (user) => user.version }),
  );
  app.post("/login", async (req) => {
    const form = await req.form();
    const result: PasswordLoginResult<User> = await passwordLogin<User>(req, {
      identifier: form.get("email") ?? "",
      password: form.get("password") ?? "",
      findUser: (email) => {
        const user = [...users.values()].find((candidate) => candidate.email === email);
        return user === undefined ? null : { user, passwordHash: user.passwordHash };
      },
      lockout,
      onRehash: (user, hash) => {
        user.passwordHash = hash;
        rehashed.push(user.id);
      },
    });
    return result.ok ? { ok: true, user: result.user.id } : result;
  });
  app.post("/change-password", async (req) => {
    const user = users.get(req.user.id);
    if (user === undefined) return { ok: false };
    user.passwordHash = await hashPassword((await req.form()).get("password") ?? "");
    user.version += 1;
    // Logging in again stores the new version in this session only.
    login(req, user);
    return { ok: true };
  });
  app.get("/me", (req) => ({ id: req.user.id }));
  return { app, alice, users, lockout, rehashed };
}

describe("passwordLogin", () => {
  test("success logs in", async () => {
    recordEvents();
    const { app } = await loginApp();
    const client = new TestClient(app);
    const response = await client.post("/login", {
      form: { email: "  ALICE@example.com ", password: "right password" },
    });
    assert.deepEqual(response.json(), { ok: true, user: "u1" });
    assert.deepEqual((await client.get("/me")).json(), { id: "u1" });
    assert.deepEqual(
      events.map((event) => event.name),
      ["auth.login.success"],
    );
  });

  test("unknown user and wrong password look the same", async () => {
    recordEvents();
    const { calls } = await countingArgon2();
    const { app } = await loginApp();
    const client = new TestClient(app);
    const unknown = await client.post("/login", { form: { email: "nobody@example.com", password: "right password" } });
    const wrong = await client.post("/login", { form: { email: "alice@example.com", password: "wrong password" } });
    assert.equal(unknown.text, wrong.text);
    assert.deepEqual(unknown.json(), { ok: false, reason: "invalid" });
    assert.equal(unknown.status, wrong.status);
    // Both paths ran one full verification.
    assert.equal(calls.verify, 2);
    assert.deepEqual(
      events.map((event) => [event.name, event.details.reason]),
      [
        ["auth.login.failure", "unknown_identifier"],
        ["auth.login.failure", "wrong_password"],
      ],
    );
    assert.doesNotMatch(JSON.stringify(events), /right password|wrong password/);
  });

  test("locked account has the same shape", async () => {
    const { calls } = await countingArgon2();
    const { app } = await loginApp();
    const client = new TestClient(app);
    for (let attempt = 0; attempt < 2; attempt++) {
      assert.deepEqual(
        (await client.post("/login", { form: { email: "alice@example.com", password: "nope" } })).json(),
        { ok: false, reason: "invalid" },
      );
    }
    const locking = (await client.post("/login", { form: { email: "Alice@Example.com", password: "nope" } })).json<{
      reason: string;
      retryAfter: number;
    }>();
    assert.equal(locking.reason, "locked");
    const before = calls.verify;
    const locked = await client.post("/login", { form: { email: "alice@example.com", password: "right password" } });
    assert.deepEqual(Object.keys(locked.json<object>()).sort(), ["ok", "reason", "retryAfter"]);
    assert.equal(locked.json<{ retryAfter: number }>().retryAfter, 300);
    assert.equal(calls.verify, before + 1, "a locked account still costs one verification");
    assert.deepEqual((await client.get("/me")).json(), { id: "" });
  });

  test("rehash on login", async () => {
    setArgon2ModuleForTests(null);
    const { app, alice, rehashed } = await loginApp();
    setArgon2ModuleForTests(undefined);
    assert.match(alice.passwordHash, /^\$scrypt\$/);
    await new TestClient(app).post("/login", { form: { email: "alice@example.com", password: "right password" } });
    assert.deepEqual(rehashed, ["u1"]);
    assert.match(alice.passwordHash, /^\$argon2id\$/);
    assert.equal(await verifyPassword("right password", alice.passwordHash), true);
  });

  test("password change logs out other sessions", async () => {
    const { app } = await loginApp();
    const laptop = new TestClient(app);
    const phone = new TestClient(app);
    for (const client of [laptop, phone]) {
      await client.post("/login", { form: { email: "alice@example.com", password: "right password" } });
    }
    assert.equal((await laptop.post("/change-password", { form: { password: "new password" } })).status, 200);
    assert.deepEqual((await laptop.get("/me")).json(), { id: "u1" });
    assert.deepEqual((await phone.get("/me")).json(), { id: "" });
  });
});

describe("PasswordResetTokens", () => {
  const makeTokens = (clock = () => Date.parse("2030-01-01T00:00:00Z"), secretKey: string | string[] = SECRET) =>
    new PasswordResetTokens<User>({
      secretKey,
      maxAgeSeconds: 3600,
      userState: (user) => `${user.passwordHash}:${String(user.version)}`,
      clock,
    });
  const bob: User = {
    id: "user-é/42",
    email: "bob@example.com",
    passwordHash: "$scrypt$old",
    version: 1,
    permissions: [],
  };
  const load = (id: string): User | null => (id === bob.id ? bob : null);

  test("valid token returns the user", async () => {
    const tokens = makeTokens();
    const token = tokens.createToken(bob);
    assert.match(token, /^[A-Za-z0-9_-]+\.[0-9a-z]+\.[A-Za-z0-9_-]{43}$/);
    assert.equal(await tokens.verifyToken(token, load), bob);
  });

  test("token dies after use or a password change", async () => {
    const tokens = makeTokens();
    const user = { ...bob };
    const token = tokens.createToken(user);
    const loader = (id: string): User | null => (id === user.id ? user : null);
    assert.equal(await tokens.verifyToken(token, loader), user);
    user.passwordHash = "$scrypt$new";
    assert.equal(await tokens.verifyToken(token, loader), null);
    const versionToken = tokens.createToken(user);
    user.version += 1;
    assert.equal(await tokens.verifyToken(versionToken, loader), null);
  });

  test("token expires", async () => {
    let now = Date.parse("2030-01-01T00:00:00Z");
    const tokens = makeTokens(() => now);
    const token = tokens.createToken(bob);
    now += 3599_000;
    assert.equal(await tokens.verifyToken(token, load), bob);
    now += 2_000;
    assert.equal(await tokens.verifyToken(token, load), null);
  });

  test("tampered and forged tokens fail", async () => {
    recordEvents();
    const tokens = makeTokens();
    const token = tokens.createToken(bob);
    const [id = "", expires = "", mac = ""] = token.split(".");
    const otherId = Buffer.from("u1").toString("base64url");
    const later = (Number.parseInt(expires, 36) + 86_400).toString(36);
    const flipped = mac[5] === "A" ? "B" : "A";
    const forged = makeTokens(undefined, "another-secret-key-that-is-long-enough-0123456789").createToken(bob);
    for (const bad of [
      `${otherId}.${expires}.${mac}`,
      `${id}.${later}.${mac}`,
      `${id}.${expires}.${mac.slice(0, 5)}${flipped}${mac.slice(6)}`,
      `${id}.${expires}.${mac.slice(0, -1)}`,
      `${id}.${expires}`,
      `${id}..${mac}`,
      `${id}.${expires}.${mac}.extra`,
      forged,
      "",
      "...",
      "x".repeat(10_000),
      `${id}=.${expires}.${mac}`,
      // The same bytes in a non-canonical spelling: the last character's spare bits changed.
      `${id}.${expires}.${mac.slice(0, -1)}${"AEIMQUYcgkosw048".includes(mac.at(-1) ?? "") ? String.fromCharCode((mac.at(-1) ?? "A").charCodeAt(0) + 1) : (mac.at(-1) ?? "")}`,
    ]) {
      assert.equal(await tokens.verifyToken(bad, load), null, bad.slice(0, 60));
    }
    assert.equal(await tokens.verifyToken(42, load), null);
  });

  test("rotated key still verifies", async () => {
    const old = makeTokens(undefined, SECRET);
    const token = old.createToken(bob);
    const rotated = makeTokens(undefined, ["new-secret-key-that-is-long-enough-0123456789-abc", SECRET]);
    assert.equal(await rotated.verifyToken(token, load), bob);
  });

  test("reset tokens are not session keys", async () => {
    // A value made for one purpose never validates as another's: the keys are derived apart.
    const tokens = makeTokens();
    const token = tokens.createToken(bob);
    const otherPurpose = new PasswordResetTokens<User>({ secretKey: SECRET, userState: () => "" });
    assert.equal(await otherPurpose.verifyToken(token, load), null);
  });

  test("events for requested, invalid and completed", async () => {
    recordEvents();
    const app = new App({ env: "test" });
    const tokens = makeTokens();
    app.post("/flow", async (req) => {
      const token = tokens.createToken(bob, req);
      await tokens.verifyToken(`${token}x`, load, req);
      tokens.recordCompleted(req, bob);
      return "done";
    });
    await new TestClient(app).post("/flow");
    assert.deepEqual(
      events.map((event) => event.name),
      ["password.reset.requested", "password.reset.invalid", "password.reset.completed"],
    );
    assert.deepEqual(events[1]?.details, { reason: "malformed" });
    assert.doesNotMatch(JSON.stringify(events), /\.[A-Za-z0-9_-]{43}/);
  });

  test("configuration mistakes", () => {
    assert.throws(() => new PasswordResetTokens({ secretKey: SECRET } as never), /needs userState/);
    assert.throws(() => new PasswordResetTokens({ secretKey: "short", userState: () => "" }), /at least 32/);
    assert.throws(
      () => new PasswordResetTokens({ secretKey: SECRET, userState: () => "", maxAgeSeconds: 0 }),
      /maxAgeSeconds/,
    );
  });
});

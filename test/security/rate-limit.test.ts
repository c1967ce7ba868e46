import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { after, afterEach, before, describe, test } from "node:test";
import { promisify } from "node:util";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { Redis } from "ioredis";
import { App, ConfigurationError } from "../../src/index.js";
import type { AppOptions } from "../../src/index.js";
import {
  AuthRateLimitMiddleware,
  MemoryRateLimitBackend,
  redisRateLimitBackend,
  type AuthRateLimitOptions,
} from "../../src/middleware/index.js";
import {
  LoginLockout,
  MemoryLockoutBackend,
  addressKey,
  normalizeIdentifier,
  redisLockoutBackend,
  setSecurityEventSink,
  type SecurityEvent,
} from "../../src/security/index.js";
import { TestClient } from "../../src/testing/index.js";
import { captureLogger } from "../helpers.js";
import { redisSkipReason, startRedis, type RedisServer } from "../services.js";

const run = promisify(execFile);
const events: SecurityEvent[] = [];
afterEach(() => {
  setSecurityEventSink(null);
  events.length = 0;
});

class Clock {
  now = Date.parse("2030-01-01T00:00:00Z");
  read = (): number => this.now;
  advance(seconds: number): void {
    this.now += seconds * 1000;
  }
}

function limitedApp(options: AuthRateLimitOptions = {}, appOptions: AppOptions = {}) {
  setSecurityEventSink((event) => {
    events.push(event);
  });
  const calls = { count: 0 };
  const app = new App({ env: "test", logger: captureLogger(), ...appOptions });
  app.addMiddleware(new AuthRateLimitMiddleware({ requests: 3, windowSeconds: 60, blockSeconds: 120, ...options }));
  app.route("/login", { methods: ["GET", "POST"] }, () => {
    calls.count += 1;
    return "login";
  });
  app.post("/notes", () => {
    calls.count += 1;
    return "note";
  });
  return { app, calls };
}

describe("AuthRateLimitMiddleware", () => {
  test("blocks with 429 and Retry-After", async () => {
    const { app, calls } = limitedApp();
    const client = new TestClient(app);
    for (let attempt = 0; attempt < 3; attempt++) assert.equal((await client.post("/login")).status, 200);
    const blocked = await client.post("/login");
    assert.equal(blocked.status, 429);
    assert.equal(blocked.header("retry-after"), "120");
    assert.equal(
      (await client.post("/login", { headers: { accept: "application/json" } })).json<{ status: number }>().status,
      429,
    );
    assert.equal(calls.count, 3);
    const blockedEvents = events.filter((event) => event.name === "auth.rate_limit.blocked");
    assert.equal(blockedEvents.length, 1);
    assert.equal(blockedEvents[0]?.ip, "127.0.0.1");
  });

  test("block ends after blockSeconds", async () => {
    const clock = new Clock();
    const { app } = limitedApp({ backend: new MemoryRateLimitBackend({ clock: clock.read }) });
    const client = new TestClient(app);
    for (let attempt = 0; attempt < 4; attempt++) await client.post("/login");
    clock.advance(60);
    const still = await client.post("/login");
    assert.equal(still.status, 429);
    assert.equal(still.header("retry-after"), "60");
    clock.advance(61);
    assert.equal((await client.post("/login")).status, 200);
  });

  test("window resets the count", async () => {
    const clock = new Clock();
    const { app } = limitedApp({ backend: new MemoryRateLimitBackend({ clock: clock.read }) });
    const client = new TestClient(app);
    for (let round = 0; round < 3; round++) {
      for (let attempt = 0; attempt < 3; attempt++) assert.equal((await client.post("/login")).status, 200);
      clock.advance(61);
    }
  });

  test("other methods and routes are not counted", async () => {
    const { app } = limitedApp();
    const client = new TestClient(app);
    for (let attempt = 0; attempt < 10; attempt++) {
      assert.equal((await client.get("/login")).status, 200);
      assert.equal((await client.post("/notes")).status, 200);
    }
  });

  test("path spellings share one bucket", async () => {
    const { app, calls } = limitedApp({ requests: 6 });
    const client = new TestClient(app);
    for (const path of ["/login", "/login/", "//login", "/%6Cogin", "/login?next=/x", "/LOGIN"]) {
      await client.post(path);
    }
    assert.equal(calls.count, 5, "the case variant is counted but not routed");
    for (const path of ["/login", "/Login/", "//login//"]) {
      assert.equal((await client.post(path)).status, 429, path);
    }
  });

  test("spoofed X-Forwarded-For is ignored", async () => {
    const { app } = limitedApp();
    const client = new TestClient(app, { remoteAddress: "203.0.113.5" });
    for (let attempt = 0; attempt < 3; attempt++) {
      await client.post("/login", { headers: { "x-forwarded-for": `198.51.100.${String(attempt)}` } });
    }
    assert.equal((await client.post("/login", { headers: { "x-forwarded-for": "198.51.100.99" } })).status, 429);
  });

  test("one trusted hop uses the right entry", async () => {
    const { app } = limitedApp({}, { trustProxy: 1 });
    const proxy = new TestClient(app, { remoteAddress: "10.0.0.1" });
    for (let attempt = 0; attempt < 3; attempt++) {
      // The client controls the left part; the proxy appends the address it saw.
      await proxy.post("/login", { headers: { "x-forwarded-for": `1.1.1.${String(attempt)}, 198.51.100.7` } });
    }
    assert.equal((await proxy.post("/login", { headers: { "x-forwarded-for": "9.9.9.9, 198.51.100.7" } })).status, 429);
    assert.equal((await proxy.post("/login", { headers: { "x-forwarded-for": "198.51.100.8" } })).status, 200);
  });

  test("IPv6 clients are grouped by /64", async () => {
    const { app } = limitedApp();
    for (const address of ["2001:db8:1:2::1", "2001:db8:1:2::2", "2001:db8:1:2:ffff:ffff:ffff:ffff"]) {
      assert.equal((await new TestClient(app, { remoteAddress: address }).post("/login")).status, 200);
    }
    assert.equal((await new TestClient(app, { remoteAddress: "2001:db8:1:2::abcd" }).post("/login")).status, 429);
    assert.equal((await new TestClient(app, { remoteAddress: "2001:db8:1:3::1" }).post("/login")).status, 200);
  });

  test("address keys", () => {
    assert.equal(addressKey("::ffff:192.0.2.1"), "192.0.2.1");
    assert.equal(addressKey("2001:DB8:1:2:3:4:5:6"), "2001:db8:1:2::/64");
    assert.equal(addressKey("2001:db8::1"), "2001:db8:0:0::/64");
    assert.equal(addressKey("not an address"), "not an address");
  });

  test("custom key", async () => {
    const { app } = limitedApp({ key: (req) => req.headers["x-account"] as string });
    for (const address of ["192.0.2.1", "192.0.2.2", "192.0.2.3"]) {
      await new TestClient(app, { remoteAddress: address }).post("/login", { headers: { "x-account": "a" } });
    }
    assert.equal((await new TestClient(app).post("/login", { headers: { "x-account": "a" } })).status, 429);
    assert.equal((await new TestClient(app).post("/login", { headers: { "x-account": "b" } })).status, 200);
  });

  test("failing backend follows failureMode", async () => {
    const failing = { hit: () => Promise.reject(new Error("backend down")) };
    const logger = captureLogger();
    const open = limitedApp({ backend: failing }, { logger });
    assert.equal((await new TestClient(open.app).post("/login")).status, 200);
    assert.equal(events.at(-1)?.name, "auth.rate_limit.unavailable");
    const closed = limitedApp({ backend: failing, failureMode: "closed" }, { logger });
    assert.equal((await new TestClient(closed.app).post("/login")).status, 503);
    assert.equal(closed.calls.count, 0);
    assert.equal(logger.entries.length, 2);
  });

  test("memory stays bounded after a million keys", async () => {
    setFlagsFromString("--expose-gc");
    const gc = runInNewContext("gc") as () => void;
    const backend = new MemoryRateLimitBackend({ maxKeys: 10_000 });
    const rule = { limit: 5, windowMs: 60_000, blockMs: 60_000 };
    gc();
    const before = process.memoryUsage().heapUsed;
    for (let index = 0; index < 1_000_000; index++) {
      await backend.hit(`198.51.${String(index >>> 8)}.${String(index & 255)}`, rule);
    }
    gc();
    const grown = process.memoryUsage().heapUsed - before;
    assert.equal(backend.size, 10_000);
    assert.ok(grown < 16 * 1024 * 1024, `heap grew by ${String(Math.round(grown / 1024))} KiB`);
  });

  test("configuration mistakes", () => {
    assert.throws(() => new AuthRateLimitMiddleware({ requests: 0 }), ConfigurationError);
    assert.throws(() => new AuthRateLimitMiddleware({ windowSeconds: 1.5 }), /positive integer/);
    assert.throws(() => new AuthRateLimitMiddleware({ paths: ["login"] }), /must start with/);
    assert.throws(() => new AuthRateLimitMiddleware({ failureMode: "maybe" as never }), /failureMode/);
    assert.throws(() => new AuthRateLimitMiddleware({ request: 5 } as never), /Did you mean requests\?/);
    assert.throws(() => new MemoryRateLimitBackend({ maxKeys: 0 }), ConfigurationError);
  });
});

describe("LoginLockout", () => {
  const rule = { maxFailures: 3, windowSeconds: 900, baseLockSeconds: 300, backoffMultiplier: 2, maxLockSeconds: 3600 };

  test("normalizeIdentifier", () => {
    assert.equal(normalizeIdentifier("  Alice@Example.COM \t"), "alice@example.com");
    assert.equal(normalizeIdentifier("ａｌｉｃｅ"), "alice");
    assert.equal(normalizeIdentifier("ÅSA"), normalizeIdentifier("Åsa"));
  });

  test("locks across identifier variants", async () => {
    setSecurityEventSink((event) => {
      events.push(event);
    });
    const lockout = new LoginLockout({ ...rule });
    await lockout.recordFailure("alice");
    await lockout.recordFailure("  ALICE ");
    assert.equal(await lockout.isLocked("alice"), false);
    const locked = await lockout.recordFailure("ａｌｉｃｅ");
    assert.deepEqual(locked, { locked: true, retryAfterSeconds: 300, failures: 0 });
    assert.equal(await lockout.isLocked("Alice"), true);
    assert.equal(await lockout.isLocked("bob"), false);
    assert.equal(events.length, 1);
    assert.equal(events[0]?.name, "auth.lockout.locked");
    assert.deepEqual(events.at(0)?.details, { identifier: "alice", lockSeconds: 300, lockCount: 1 });
  });

  test("backoff grows and is capped", async () => {
    const clock = new Clock();
    const lockout = new LoginLockout({ ...rule, backend: new MemoryLockoutBackend({ clock: clock.read }) });
    const lengths: number[] = [];
    for (let lock = 0; lock < 6; lock++) {
      let status = await lockout.recordFailure("bob");
      while (!status.locked) status = await lockout.recordFailure("bob");
      lengths.push(status.retryAfterSeconds);
      clock.advance(status.retryAfterSeconds + 1);
      assert.equal(await lockout.isLocked("bob"), false);
    }
    assert.deepEqual(lengths, [300, 600, 1200, 2400, 3600, 3600]);
  });

  test("success resets the backoff", async () => {
    const clock = new Clock();
    const lockout = new LoginLockout({ ...rule, backend: new MemoryLockoutBackend({ clock: clock.read }) });
    for (let failure = 0; failure < 3; failure++) await lockout.recordFailure("carol");
    clock.advance(301);
    await lockout.recordSuccess("carol");
    for (let failure = 0; failure < 3; failure++) await lockout.recordFailure("carol");
    assert.equal((await lockout.status("carol")).retryAfterSeconds, 300);
  });

  test("failures outside the window are forgotten", async () => {
    const clock = new Clock();
    const lockout = new LoginLockout({ ...rule, backend: new MemoryLockoutBackend({ clock: clock.read }) });
    await lockout.recordFailure("dave");
    await lockout.recordFailure("dave");
    clock.advance(901);
    assert.equal((await lockout.recordFailure("dave")).locked, false);
    assert.equal((await lockout.status("dave")).failures, 1);
  });

  test("failing backend follows failureMode", async () => {
    const failing = {
      status: () => Promise.reject(new Error("down")),
      recordFailure: () => Promise.reject(new Error("down")),
      reset: () => Promise.reject(new Error("down")),
    };
    const logger = captureLogger();
    const closed = new LoginLockout({ backend: failing, logger });
    assert.equal(await closed.isLocked("x"), true);
    assert.equal((await closed.recordFailure("x")).locked, true);
    await closed.recordSuccess("x");
    const open = new LoginLockout({ backend: failing, logger, failureMode: "open" });
    assert.equal(await open.isLocked("x"), false);
    assert.equal(logger.entries.length, 4);
  });

  test("memory stays bounded after a million keys", async () => {
    setFlagsFromString("--expose-gc");
    const gc = runInNewContext("gc") as () => void;
    const backend = new MemoryLockoutBackend({ maxKeys: 10_000 });
    const lockRule = { maxFailures: 5, windowMs: 60_000, baseLockMs: 1000, backoffMultiplier: 2, maxLockMs: 10_000 };
    gc();
    const before = process.memoryUsage().heapUsed;
    for (let index = 0; index < 1_000_000; index++) await backend.recordFailure(`user${String(index)}`, lockRule);
    gc();
    const grown = process.memoryUsage().heapUsed - before;
    assert.equal(backend.size, 10_000);
    assert.ok(grown < 16 * 1024 * 1024, `heap grew by ${String(Math.round(grown / 1024))} KiB`);
  });

  test("configuration mistakes", () => {
    assert.throws(() => new LoginLockout({ maxFailures: 0 }), ConfigurationError);
    assert.throws(() => new LoginLockout({ backoffMultiplier: 0.5 }), /at least 1/);
    assert.throws(() => new LoginLockout({ baseLockSeconds: 100, maxLockSeconds: 50 }), /at least baseLockSeconds/);
    assert.throws(() => new LoginLockout({ maxFailure: 3 } as never), /Did you mean maxFailures\?/);
  });
});

const redisSkip = redisSkipReason();

describe("Redis backends", { skip: redisSkip }, () => {
  let server: RedisServer;
  let client: Redis;
  before(async () => {
    server = await startRedis();
    client = new Redis({ host: "127.0.0.1", port: server.port, maxRetriesPerRequest: 1 });
  });
  after(async () => {
    client.disconnect();
    await server.stop();
  });

  test("rate limit is shared across apps", async () => {
    const backend = redisRateLimitBackend(client, { keyPrefix: "shared:" });
    const first = limitedApp({ backend });
    const second = limitedApp({ backend: redisRateLimitBackend(client, { keyPrefix: "shared:" }) });
    assert.equal((await new TestClient(first.app).post("/login")).status, 200);
    assert.equal((await new TestClient(second.app).post("/login")).status, 200);
    assert.equal((await new TestClient(first.app).post("/login")).status, 200);
    const blocked = await new TestClient(second.app).post("/login");
    assert.equal(blocked.status, 429);
    const retryAfter = Number(blocked.header("retry-after"));
    assert.ok(retryAfter > 110, String(retryAfter));
    assert.ok(retryAfter <= 120, String(retryAfter));
  });

  test("scripts survive a script cache flush", async () => {
    const backend = redisRateLimitBackend(client, { keyPrefix: "flush:" });
    const rule = { limit: 2, windowMs: 60_000, blockMs: 60_000 };
    assert.equal((await backend.hit("k", rule)).allowed, true);
    await client.script("FLUSH");
    assert.equal((await backend.hit("k", rule)).allowed, true);
    assert.equal((await backend.hit("k", rule)).allowed, false);
  });

  test("two processes get exactly the allowance", async () => {
    const script = new URL("../fixtures/redis-hits.ts", import.meta.url).pathname;
    const runChild = async (): Promise<number> => {
      const { stdout } = await run(process.execPath, [
        "--import",
        "tsx",
        script,
        "rate",
        String(server.port),
        "concurrent",
        "40",
      ]);
      return (JSON.parse(stdout) as { allowed: number }).allowed;
    };
    const allowed = await Promise.all([runChild(), runChild()]);
    assert.equal(allowed[0] + allowed[1], 25);
  });

  test("lockout counts failures from two processes", async () => {
    const script = new URL("../fixtures/redis-hits.ts", import.meta.url).pathname;
    const runChild = () =>
      run(process.execPath, ["--import", "tsx", script, "lockout", String(server.port), "carol", "30"]);
    await Promise.all([runChild(), runChild()]);
    const lockout = new LoginLockout({ maxFailures: 1000, backend: redisLockoutBackend(client) });
    assert.equal((await lockout.status("carol")).failures, 60);
  });

  test("lockout backoff on Redis", async () => {
    const lockout = new LoginLockout({
      maxFailures: 2,
      baseLockSeconds: 1,
      maxLockSeconds: 3,
      backend: redisLockoutBackend(client, { keyPrefix: "backoff:" }),
    });
    await lockout.recordFailure("Erin");
    const locked = await lockout.recordFailure(" erin ");
    assert.equal(locked.locked, true);
    assert.equal(locked.retryAfterSeconds, 1);
    assert.equal(await lockout.isLocked("ERIN"), true);
    await lockout.recordSuccess("erin");
    assert.equal(await lockout.isLocked("erin"), false);
  });

  test("stopped Redis follows each failureMode", async () => {
    const down = await startRedis();
    const downClient = new Redis({
      host: "127.0.0.1",
      port: down.port,
      maxRetriesPerRequest: 0,
      enableOfflineQueue: false,
      retryStrategy: () => null,
    });
    await new Promise((resolve) => downClient.once("ready", resolve));
    assert.equal(await downClient.ping(), "PONG");
    await down.stop();
    await new Promise((resolve) => setTimeout(resolve, 100));
    const logger = captureLogger();

    const open = limitedApp({ backend: redisRateLimitBackend(downClient) }, { logger });
    assert.equal((await new TestClient(open.app).post("/login")).status, 200);
    assert.equal(events.at(-1)?.name, "auth.rate_limit.unavailable");
    const closed = limitedApp({ backend: redisRateLimitBackend(downClient), failureMode: "closed" }, { logger });
    assert.equal((await new TestClient(closed.app).post("/login")).status, 503);

    const lockoutClosed = new LoginLockout({ backend: redisLockoutBackend(downClient), logger });
    assert.equal(await lockoutClosed.isLocked("frank"), true);
    const lockoutOpen = new LoginLockout({ backend: redisLockoutBackend(downClient), logger, failureMode: "open" });
    assert.equal(await lockoutOpen.isLocked("frank"), false);
    assert.ok(logger.entries.length >= 3);
    downClient.disconnect();
  });
});

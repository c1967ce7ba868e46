import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { Redis } from "ioredis";
import { App, ConfigurationError } from "../../src/index.js";
import type { AppOptions } from "../../src/index.js";
import {
  MemorySessionStore,
  RedisSessionStore,
  SessionMiddleware,
  type JsonValue,
  type SessionOptions,
  type SessionStore,
} from "../../src/middleware/index.js";
import { setSecurityEventSink, type SecurityEvent } from "../../src/security/index.js";
import { TestClient, type TestResponse } from "../../src/testing/index.js";
import { captureLogger } from "../helpers.js";
import { redisSkipReason, startRedis, type RedisServer } from "../services.js";

const KEY_A = "a".repeat(32) + "-first-secret-key-for-tests";
const KEY_B = "b".repeat(32) + "-second-secret-key-for-tests";

class Clock {
  now = Date.parse("2030-01-01T00:00:00Z");
  read = (): number => this.now;
  advance(seconds: number): void {
    this.now += seconds * 1000;
  }
}

function sessionApp(options: SessionOptions, appOptions: AppOptions = {}): App {
  const app = new App({ env: "test", logger: captureLogger(), ...appOptions });
  app.addMiddleware(new SessionMiddleware(options));
  app.get("/get", (req) => {
    const key = req.query.get("key") ?? "";
    return { value: req.session.get(key) ?? null, isNew: req.session.isNew };
  });
  app.post("/set", async (req) => {
    const body = (await req.json()) as { key: string; value: JsonValue };
    req.session.set(body.key, body.value);
    return { ok: true };
  });
  app.post("/regenerate", (req) => {
    req.session.regenerate();
    return { ok: true };
  });
  app.post("/clear", (req) => {
    req.session.clear();
    return { ok: true };
  });
  app.get("/noop", () => "untouched");
  return app;
}

function sessionCookie(response: TestResponse, name = "chirp_session"): string | undefined {
  const header = response.cookies.find((cookie) => cookie.startsWith(`${name}=`));
  return header?.slice(name.length + 1).split(";")[0];
}

async function read(client: TestClient, key: string): Promise<{ value: JsonValue; isNew: boolean }> {
  return (await client.get("/get", { query: { key } })).json();
}

function withCookie(app: App, value: string, clock?: Clock): TestClient {
  const client = new TestClient(app, clock === undefined ? {} : { now: () => new Date(clock.now) });
  client.jar.store(`chirp_session=${value}; Path=/`, new URL("http://testserver/"));
  return client;
}

function captureEvents(): { events: SecurityEvent[]; stop: () => void } {
  const events: SecurityEvent[] = [];
  setSecurityEventSink((event) => {
    events.push(event);
  });
  return {
    events,
    stop: () => {
      setSecurityEventSink(null);
    },
  };
}

interface StoreKind {
  name: string;
  serverSide: boolean;
  skip: string | false;
  create: () => SessionStore | undefined;
  setUp?: () => Promise<void>;
  tearDown?: () => Promise<void>;
}

let redisServer: RedisServer | undefined;
let redisClient: Redis | undefined;
let redisPrefixCounter = 0;
const redisSkip = redisSkipReason();

const kinds: StoreKind[] = [
  { name: "cookie store", serverSide: false, skip: false, create: () => undefined },
  { name: "memory store", serverSide: true, skip: false, create: () => new MemorySessionStore() },
  {
    name: "Redis store",
    serverSide: true,
    skip: redisSkip,
    create: () => {
      redisPrefixCounter += 1;
      return new RedisSessionStore({ client: redisClient!, keyPrefix: `test:${String(redisPrefixCounter)}:` });
    },
    setUp: async () => {
      redisServer = await startRedis();
      redisClient = new Redis({ host: "127.0.0.1", port: redisServer.port, maxRetriesPerRequest: 1 });
    },
    tearDown: async () => {
      await redisClient?.quit();
      await redisServer?.stop();
    },
  },
];

for (const kind of kinds) {
  describe(kind.name, { skip: kind.skip }, () => {
    if (kind.setUp) before(kind.setUp);
    if (kind.tearDown) after(kind.tearDown);

    const options = (extra: Partial<SessionOptions> = {}): SessionOptions => {
      const store = kind.create();
      return { secretKey: KEY_A, ...(store === undefined ? {} : { store }), ...extra };
    };

    test("set and read back", async () => {
      const client = new TestClient(sessionApp(options()));
      const set = await client.post("/set", { json: { key: "cart", value: { items: [1, 2], note: "ü<>" } } });
      assert.equal(set.status, 200);
      assert.ok(sessionCookie(set), "Set-Cookie sent");
      assert.deepEqual(await read(client, "cart"), { value: { items: [1, 2], note: "ü<>" }, isNew: false });
    });

    test("cookie flags are safe by default", async () => {
      const client = new TestClient(sessionApp(options()));
      const set = await client.post("/set", { json: { key: "a", value: 1 } });
      const header = set.cookies[0] ?? "";
      assert.match(header, /; Max-Age=86400/);
      assert.match(header, /; Path=\//);
      assert.match(header, /; HttpOnly/);
      assert.match(header, /; SameSite=Lax/);
      assert.doesNotMatch(header, /; Secure/);
    });

    test("content is not readable in the cookie", async () => {
      const client = new TestClient(sessionApp(options()));
      const set = await client.post("/set", { json: { key: "secret", value: "visible-plaintext" } });
      const value = sessionCookie(set) ?? "";
      assert.doesNotMatch(Buffer.from(value, "base64url").toString("latin1"), /visible-plaintext/);
      assert.doesNotMatch(value, /visible-plaintext/);
    });

    test("untouched request sends no cookie", async () => {
      const client = new TestClient(sessionApp(options()));
      await client.post("/set", { json: { key: "a", value: 1 } });
      assert.equal((await client.get("/noop")).cookies.length, 0);
      assert.equal((await client.get("/get", { query: { key: "a" } })).cookies.length, 0);
      const fresh = new TestClient(sessionApp(options()));
      assert.equal((await fresh.get("/get", { query: { key: "a" } })).cookies.length, 0);
    });

    test("tampered cookies give an empty session", async () => {
      const app = sessionApp(options());
      const client = new TestClient(app);
      const value = sessionCookie(await client.post("/set", { json: { key: "user", value: "alice" } })) ?? "";
      const flipped = value.slice(0, 20) + (value[20] === "A" ? "B" : "A") + value.slice(21);
      const variants = [
        flipped,
        value.slice(0, -4),
        value.slice(0, 10),
        value.slice(22) + value.slice(0, 22),
        value + "AAAA",
        "",
        "%00",
        "x".repeat(5000),
        "__proto__",
        Array.from(value).reverse().join(""),
      ];
      const { events, stop } = captureEvents();
      try {
        for (const variant of variants) {
          const response = await withCookie(app, variant).get("/get", { query: { key: "user" } });
          assert.equal(response.status, 200, `variant ${variant.slice(0, 30)}`);
          assert.deepEqual(response.json(), { value: null, isNew: true }, `variant ${variant.slice(0, 30)}`);
        }
      } finally {
        stop();
      }
      assert.ok(events.every((event) => event.name === "session.invalid"));
      assert.ok(events.length >= variants.length - 1, "an event for each invalid cookie except the empty one");
    });

    test("foreign-key cookie gives an empty session", async () => {
      const store = kind.create();
      const shared = store === undefined ? {} : { store };
      const other = new TestClient(sessionApp({ secretKey: KEY_B, ...shared }));
      const value = sessionCookie(await other.post("/set", { json: { key: "user", value: "mallory" } })) ?? "";
      const app = sessionApp({ secretKey: KEY_A, ...shared });
      assert.deepEqual(await read(withCookie(app, value), "user"), { value: null, isNew: true });
    });

    test("rotated key opens and re-issues", async () => {
      const store = kind.create();
      const shared = store === undefined ? {} : { store };
      const before = new TestClient(sessionApp({ secretKey: KEY_A, ...shared }));
      const oldValue = sessionCookie(await before.post("/set", { json: { key: "user", value: "alice" } })) ?? "";

      const rotated = sessionApp({ secretKey: [KEY_B, KEY_A], ...shared });
      const client = withCookie(rotated, oldValue);
      const response = await client.get("/get", { query: { key: "user" } });
      assert.deepEqual(response.json(), { value: "alice", isNew: false });
      const reissued = sessionCookie(response);
      assert.ok(reissued, "re-issued under the newest key");

      // Once the old key is dropped, the re-issued cookie still opens the session.
      const newOnly = sessionApp({ secretKey: KEY_B, ...shared });
      assert.deepEqual(await read(withCookie(newOnly, reissued), "user"), { value: "alice", isNew: false });
    });

    test("idle timeout with injected clock", async () => {
      const clock = new Clock();
      const app = sessionApp(options({ idleTimeoutSeconds: 600, clock: clock.read }));
      const client = new TestClient(app, { now: () => new Date(clock.now) });
      await client.post("/set", { json: { key: "user", value: "alice" } });
      clock.advance(599);
      assert.equal((await read(client, "user")).value, "alice");
      // The read above refreshed the last-seen time, so another 599 seconds is still fine.
      clock.advance(599);
      assert.equal((await read(client, "user")).value, "alice");
      const { events, stop } = captureEvents();
      clock.advance(601);
      try {
        assert.deepEqual(await read(client, "user"), { value: null, isNew: true });
      } finally {
        stop();
      }
      assert.equal(events[0]?.name, "session.expired");
      assert.deepEqual(events.at(0)?.details, { reason: "idle" });
    });

    test("absolute timeout with injected clock", async () => {
      const clock = new Clock();
      const app = sessionApp(options({ absoluteTimeoutSeconds: 3600, idleTimeoutSeconds: 1800, clock: clock.read }));
      const client = new TestClient(app, { now: () => new Date(clock.now) });
      await client.post("/set", { json: { key: "user", value: "alice" } });
      for (let minute = 0; minute < 59; minute++) {
        clock.advance(60);
        assert.equal((await read(client, "user")).value, "alice", `minute ${String(minute)}`);
      }
      clock.advance(60);
      assert.deepEqual(await read(client, "user"), { value: null, isNew: true });
    });

    test("replayed old cookie cannot outlive max age", async () => {
      const clock = new Clock();
      const app = sessionApp(options({ maxAge: 3600, clock: clock.read }));
      const client = new TestClient(app, { now: () => new Date(clock.now) });
      const value = sessionCookie(await client.post("/set", { json: { key: "user", value: "alice" } })) ?? "";
      clock.advance(3601);
      // The browser would have dropped it; a copy sent anyway must not open the session.
      assert.deepEqual(await read(withCookie(app, value, clock), "user"), { value: null, isNew: true });
    });

    test("last-seen refresh at most once a minute", async () => {
      const clock = new Clock();
      const app = sessionApp(options({ idleTimeoutSeconds: 1800, clock: clock.read }));
      const client = new TestClient(app, { now: () => new Date(clock.now) });
      await client.post("/set", { json: { key: "a", value: 1 } });
      clock.advance(30);
      assert.equal((await client.get("/get", { query: { key: "a" } })).cookies.length, 0);
      clock.advance(31);
      assert.equal((await client.get("/get", { query: { key: "a" } })).cookies.length, 1);
      assert.equal((await client.get("/get", { query: { key: "a" } })).cookies.length, 0);
    });

    test("regenerate issues a new id", async () => {
      const app = sessionApp(options());
      const client = new TestClient(app);
      const first = sessionCookie(await client.post("/set", { json: { key: "user", value: "alice" } })) ?? "";
      const second = sessionCookie(await client.post("/regenerate")) ?? "";
      assert.notEqual(second, "");
      assert.notEqual(second, first);
      assert.equal((await read(client, "user")).value, "alice");
      if (kind.serverSide) {
        assert.deepEqual(await read(withCookie(app, first), "user"), { value: null, isNew: true });
      }
    });

    test("clear ends the session", async () => {
      const app = sessionApp(options());
      const client = new TestClient(app);
      const value = sessionCookie(await client.post("/set", { json: { key: "user", value: "alice" } })) ?? "";
      const cleared = await client.post("/clear");
      assert.match(cleared.cookies[0] ?? "", /^chirp_session=; Max-Age=0/);
      assert.deepEqual(await read(client, "user"), { value: null, isNew: true });
      if (kind.serverSide) {
        assert.deepEqual(await read(withCookie(app, value), "user"), { value: null, isNew: true });
      }
    });

    test("only JSON values are stored", async () => {
      let caught: unknown;
      const app = new App({ env: "test", logger: captureLogger() });
      app.addMiddleware(new SessionMiddleware(options()));
      app.get("/bad/:kind", (req) => {
        const values: Record<string, unknown> = {
          undefined: undefined,
          function: () => 1,
          date: new Date(),
          map: new Map(),
          nan: Number.NaN,
          infinity: Infinity,
          bigint: 1n,
          nested: { when: new Date() },
          symbol: Symbol("s"),
        };
        try {
          req.session.set("value", values[req.params.kind ?? ""] as JsonValue);
        } catch (error) {
          caught = error;
        }
        return { stored: req.session.has("value") };
      });
      for (const name of ["undefined", "function", "date", "map", "nan", "infinity", "bigint", "nested", "symbol"]) {
        caught = undefined;
        const response = await new TestClient(app).get(`/bad/${name}`);
        assert.ok(caught instanceof TypeError, name);
        assert.deepEqual(response.json(), { stored: false }, name);
        assert.equal(response.cookies.length, 0, name);
      }
      const cyclic: Record<string, unknown> = {};
      cyclic.self = cyclic;
      const session = (await import("../../src/middleware/index.js")).Session;
      const bare = new session(Object.create(null) as Record<string, JsonValue>, true, null);
      assert.throws(() => {
        bare.set("cycle", cyclic as JsonValue);
      }, /circular/);
      assert.throws(() => {
        bare.set("date", new Date() as unknown as JsonValue);
      }, /ISO string/);
    });

    test("prototype keys are ordinary keys", async () => {
      const client = new TestClient(sessionApp(options()));
      await client.post("/set", { json: { key: "__proto__", value: { admin: true } } });
      await client.post("/set", { json: { key: "constructor", value: "c" } });
      assert.deepEqual((await read(client, "__proto__")).value, { admin: true });
      assert.equal((await read(client, "constructor")).value, "c");
      assert.equal((await read(client, "toString")).value, null);
      assert.equal(({} as Record<string, unknown>).admin, undefined);
    });

    test("large session", async () => {
      let caught: unknown;
      const app = new App({ env: "test", logger: captureLogger() });
      app.addMiddleware(new SessionMiddleware(options()));
      app.post("/big", (req) => {
        req.session.set("small", "kept");
        try {
          req.session.set("big", "x".repeat(5000));
        } catch (error) {
          caught = error;
        }
        return { stored: req.session.has("big") };
      });
      const client = new TestClient(app);
      const response = await client.post("/big");
      if (kind.serverSide) {
        assert.deepEqual(response.json(), { stored: true });
        assert.equal(caught, undefined);
      } else {
        assert.deepEqual(response.json(), { stored: false });
        assert.match(String(caught), /4096-byte limit.*MemorySessionStore/s);
        assert.equal((caught as { code: string }).code, "CHIRP_SESSION_TOO_LARGE");
        // The cookie that was sent still fits and holds the earlier value.
        assert.ok((response.cookies[0] ?? "").length < 4096);
      }
    });
  });
}

describe("Redis store across apps", { skip: redisSkip }, () => {
  let server: RedisServer;
  const clients: Redis[] = [];
  before(async () => {
    server = await startRedis();
  });
  after(async () => {
    await Promise.all(clients.map((client) => client.quit()));
    await server.stop();
  });

  test("two apps share one session", async () => {
    const connect = (): Redis => {
      const client = new Redis({ host: "127.0.0.1", port: server.port, maxRetriesPerRequest: 1 });
      clients.push(client);
      return client;
    };
    const first = sessionApp({ secretKey: KEY_A, store: new RedisSessionStore({ client: connect() }) });
    const second = sessionApp({ secretKey: KEY_A, store: new RedisSessionStore({ client: connect() }) });
    const value =
      sessionCookie(await new TestClient(first).post("/set", { json: { key: "user", value: "alice" } })) ?? "";
    const client = withCookie(second, value);
    assert.deepEqual(await read(client, "user"), { value: "alice", isNew: false });
    await client.post("/set", { json: { key: "user", value: "bob" } });
    assert.deepEqual(await read(withCookie(first, value), "user"), { value: "bob", isNew: false });
  });

  test("stored record has a TTL of max age", async () => {
    const client = new Redis({ host: "127.0.0.1", port: server.port, maxRetriesPerRequest: 1 });
    clients.push(client);
    const app = sessionApp({
      secretKey: KEY_A,
      maxAge: 1234,
      store: new RedisSessionStore({ client, keyPrefix: "ttl:" }),
    });
    await new TestClient(app).post("/set", { json: { key: "a", value: 1 } });
    const keys = await client.keys("ttl:*");
    assert.equal(keys.length, 1);
    const ttl = await client.ttl(keys[0]!);
    assert.ok(ttl > 1200, `ttl ${String(ttl)}`);
    assert.ok(ttl <= 1234, `ttl ${String(ttl)}`);
  });
});

describe("session configuration", () => {
  test("missing secret is a configuration error", () => {
    const previous = process.env.CHIRP_SECRET_KEY;
    delete process.env.CHIRP_SECRET_KEY;
    try {
      assert.throws(() => new SessionMiddleware(), /secret key is missing.*npx chirp secret/);
    } finally {
      if (previous !== undefined) process.env.CHIRP_SECRET_KEY = previous;
    }
  });

  test("short secret is a configuration error", () => {
    assert.throws(() => new SessionMiddleware({ secretKey: "too-short" }), /9 bytes long; at least 32/);
    assert.throws(() => new SessionMiddleware({ secretKey: [KEY_A, "short"] }), /key 2 of secretKey/);
  });

  test("secret from CHIRP_SECRET_KEY", async () => {
    const previous = process.env.CHIRP_SECRET_KEY;
    process.env.CHIRP_SECRET_KEY = `${KEY_B},${KEY_A}`;
    try {
      const app = sessionApp({});
      const client = new TestClient(app);
      await client.post("/set", { json: { key: "a", value: 1 } });
      assert.equal((await read(client, "a")).value, 1);
    } finally {
      if (previous === undefined) delete process.env.CHIRP_SECRET_KEY;
      else process.env.CHIRP_SECRET_KEY = previous;
    }
  });

  test("misspelled option suggests the fix", () => {
    assert.throws(
      () => new SessionMiddleware({ secretKey: KEY_A, idleTimeout: 5 } as never),
      /Did you mean idleTimeoutSeconds\?/,
    );
    assert.throws(() => new SessionMiddleware({ secretKey: KEY_A, maxAge: 0 }), ConfigurationError);
    assert.throws(() => new SessionMiddleware({ secretKey: KEY_A, maxAge: 1.5 }), /whole number/);
    assert.throws(() => new SessionMiddleware({ secretKey: KEY_A, idleTimeoutSeconds: -1 }), ConfigurationError);
    assert.throws(() => new SessionMiddleware({ secretKey: KEY_A, store: {} as never }), /load, save and destroy/);
  });

  test("secure defaults to production", async () => {
    const production = sessionApp({ secretKey: KEY_A }, { env: "production" });
    const client = new TestClient(production, { baseUrl: "https://testserver" });
    const response = await client.post("/set", { json: { key: "a", value: 1 } });
    assert.match(response.cookies[0] ?? "", /; Secure/);
  });

  test("insecure cookie in production stops start-up", () => {
    const app = sessionApp({ secretKey: KEY_A, secure: false }, { env: "production" });
    assert.throws(() => app.ready(), /dangerouslyAllowInsecureCookies/);
    const allowed = sessionApp(
      { secretKey: KEY_A, secure: false, dangerouslyAllowInsecureCookies: true },
      { env: "production" },
    );
    assert.doesNotThrow(() => allowed.ready());
  });

  test("__Host- cookie name works", async () => {
    const app = sessionApp({ secretKey: KEY_A, cookieName: "__Host-session", secure: true });
    const client = new TestClient(app, { baseUrl: "https://testserver" });
    const response = await client.post("/set", { json: { key: "a", value: 1 } });
    assert.match(response.cookies[0] ?? "", /^__Host-session=.*; Path=\/; HttpOnly; Secure/);
    assert.equal((await read(client, "a")).value, 1);
  });

  test("__Host- cookie without secure stops start-up", () => {
    const app = sessionApp({ secretKey: KEY_A, cookieName: "__Host-session" });
    assert.throws(() => app.ready(), /__Host- prefix/);
  });

  test("failing store answers 503", async () => {
    const failing: SessionStore = {
      load: () => Promise.reject(new Error("connection refused")),
      save: () => Promise.reject(new Error("connection refused")),
      destroy: () => Promise.reject(new Error("connection refused")),
    };
    const logger = captureLogger();
    const app = sessionApp({ secretKey: KEY_A, store: failing }, { logger });
    const client = new TestClient(app);
    const saving = await client.post("/set", { json: { key: "a", value: 1 } });
    assert.equal(saving.status, 503);
    const loading = await withCookie(app, "A".repeat(43)).get("/get", { query: { key: "a" } });
    assert.equal(loading.status, 503);
    assert.equal(logger.entries.length, 2);
  });
});

describe("memory store bounds", () => {
  test("evicts the least recently used", async () => {
    const store = new MemorySessionStore({ maxEntries: 2 });
    const record = { data: {}, createdAt: 0, lastSeenAt: 0 };
    await store.save("a", record, 60);
    await store.save("b", record, 60);
    await store.load("a");
    await store.save("c", record, 60);
    assert.equal(store.size, 2);
    assert.notEqual(await store.load("a"), null);
    assert.equal(await store.load("b"), null);
  });

  test("sweeps expired entries", async () => {
    const clock = new Clock();
    const store = new MemorySessionStore({ clock: clock.read });
    const record = { data: {}, createdAt: 0, lastSeenAt: 0 };
    for (let index = 0; index < 100; index++) await store.save(`k${String(index)}`, record, 30);
    assert.equal(store.size, 100);
    clock.advance(61);
    await store.save("fresh", record, 30);
    assert.equal(store.size, 1);
  });

  test("rejects a bad bound", () => {
    assert.throws(() => new MemorySessionStore({ maxEntries: 0 }), ConfigurationError);
  });
});

describe("cookie session size limit", () => {
  const limit = {
    maxDataBytes: 100,
    tooLarge: (bytes: number) => new RangeError(`data is ${String(bytes)} bytes`),
  };
  const newSession = async () => {
    const { Session } = await import("../../src/middleware/index.js");
    return new Session(Object.create(null) as Record<string, JsonValue>, true, limit);
  };

  test("data of exactly the limit fits", async () => {
    const session = await newSession();
    // {"a":"…"} is 8 bytes around the string.
    session.set("a", "x".repeat(92));
    assert.equal(JSON.stringify(session.data).length, 100);
    assert.throws(() => {
      session.set("a", "x".repeat(93));
    }, /data is 101 bytes/);
    assert.equal(session.get("a"), "x".repeat(92));
  });

  test("replaced values do not add up", async () => {
    const session = await newSession();
    for (let round = 0; round < 50; round++) session.set("a", "y".repeat(60));
    session.set("b", "z");
    assert.deepEqual(session.keys(), ["a", "b"]);
  });

  test("many small keys reach the limit", async () => {
    const session = await newSession();
    assert.throws(() => {
      for (let index = 0; index < 100; index++) session.set(`k${String(index)}`, index);
    }, /data is 10[1-9] bytes/);
    assert.ok(JSON.stringify(session.data).length <= 100);
  });

  test("largest session cookie stays within 4096 bytes", async () => {
    let largest = 0;
    const app = new App({ env: "test", logger: captureLogger() });
    app.addMiddleware(new SessionMiddleware({ secretKey: "k".repeat(48), cookieName: "session_name" }));
    app.post("/fill", (req) => {
      // Finds the longest value that set() accepts.
      let low = 0;
      let high = 5000;
      while (low < high) {
        const middle = Math.ceil((low + high) / 2);
        try {
          req.session.set("value", "v".repeat(middle));
          low = middle;
        } catch {
          high = middle - 1;
        }
      }
      req.session.set("value", "v".repeat(low));
      largest = low;
      return "filled";
    });
    const response = await new TestClient(app).post("/fill");
    const cookie = response.cookies[0] ?? "";
    assert.ok(largest > 2500, `largest value is ${String(largest)} bytes`);
    assert.ok(cookie.length <= 4096, `cookie is ${String(cookie.length)} bytes`);
    // The allowance for attributes leaves room, but not more than it reserves.
    assert.ok(cookie.length > 4096 - 200, `cookie is only ${String(cookie.length)} bytes`);
  });
});

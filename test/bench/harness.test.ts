import assert from "node:assert/strict";
import type { RequestListener } from "node:http";
import { test } from "node:test";
import { Redis } from "ioredis";
import { runLoad } from "../../bench/load.js";
import { REDIS_KINDS, SERVER_KINDS, isRateLimitKind, type ServerKind } from "../../bench/protocol.js";
import {
  CHECK_LIMIT,
  checkCheckers,
  checkCounting,
  checkRateLimit,
  rateLimitSettings,
} from "../../bench/rate-limit.js";
import { startRedis, type RedisServer } from "../../bench/redis.js";
import { checkServer, loadTarget, logIn, startServer, type StartOptions } from "../../bench/servers.js";
import { withLocalServer } from "../helpers.js";
import { redisSkipReason } from "../services.js";

/** A redis-server with a connected client, for the tests of the Redis servers. */
interface RedisFixture {
  server: RedisServer;
  client: Redis;
}

/** Runs `body` with a fresh redis-server and a client of it, and stops both afterwards. */
async function withRedis(body: (redis: RedisFixture) => Promise<void>): Promise<void> {
  const server = await startRedis();
  const client = new Redis({ host: "127.0.0.1", port: server.port, lazyConnect: true, maxRetriesPerRequest: 1 });
  try {
    await client.connect();
    await body({ server, client });
  } finally {
    client.disconnect();
    await server.stop();
  }
}

/** Runs `body` with a fresh redis-server for the Redis kinds, and with none for the others. */
async function withRedisFor(kind: ServerKind, body: (redis: RedisFixture | null) => Promise<void>): Promise<void> {
  if (REDIS_KINDS.includes(kind)) await withRedis(body);
  else await body(null);
}

/** Options that start a measured `kind` server, with its rate limit settings where it has them. */
function measuredOptions(kind: ServerKind, redis: RedisFixture | null): StartOptions {
  return isRateLimitKind(kind) ? { rateLimit: rateLimitSettings(kind, "measured", redis?.server.port ?? null) } : {};
}

for (const kind of SERVER_KINDS) {
  test(`${kind} server passes checks`, { skip: REDIS_KINDS.includes(kind) && redisSkipReason() }, async () => {
    await withRedisFor(kind, async (redis) => {
      const server = await startServer(kind, measuredOptions(kind, redis));
      try {
        assert.match(server.url, /^http:\/\/127\.0\.0\.1:\d+\/$/);
        if (kind.startsWith("chirp-"))
          assert.ok(server.build === "dist" || server.build === "src", `build is ${server.build}`);
        else assert.equal(server.build, null);
        assert.deepEqual(await checkServer(kind, server.url), []);
        if (isRateLimitKind(kind)) assert.deepEqual(await checkCounting(server, redis?.client ?? null), []);

        const stats = await server.stats();
        assert.ok(stats.rss > 0, `rss is ${stats.rss}`);
        assert.ok(stats.maxRss >= stats.rss, `maxRss ${stats.maxRss} is below rss ${stats.rss}`);
        assert.ok(stats.cpuMicros > 0, `cpuMicros is ${stats.cpuMicros}`);
      } finally {
        await server.stop();
      }
      assert.notEqual(server.child.exitCode ?? server.child.signalCode, null, "child still running after stop()");
    });
  });
}

test("login kinds load POST /login", () => {
  const url = "http://127.0.0.1:1234/";
  assert.deepEqual(loadTarget({ kind: "chirp-rate-limit-redis-login", url }), {
    method: "POST",
    url: "http://127.0.0.1:1234/login",
  });
  assert.deepEqual(loadTarget({ kind: "chirp-no-rate-limit-login", url }), {
    method: "POST",
    url: "http://127.0.0.1:1234/login",
  });
  assert.deepEqual(loadTarget({ kind: "chirp-rate-limit-redis", url }), { method: "GET", url });
  assert.deepEqual(loadTarget({ kind: "chirp-hello", url }), { method: "GET", url });
});

test("POST load reaches login route", async () => {
  const server = await startServer("chirp-rate-limit-memory-login", {
    rateLimit: rateLimitSettings("chirp-rate-limit-memory-login", "measured", null),
  });
  try {
    const target = loadTarget(server);
    const result = await runLoad(target.url, { connections: 2, seconds: 1, method: target.method });
    assert.ok(result.requests > 0, `requests is ${result.requests}`);
    // GET /login has no route, so a load that forgot the method would get only non-2xx responses.
    assert.equal(result.non2xx, 0);
    assert.equal(result.errors, 0);
    assert.equal((await server.stats()).rateLimitKeys, 1);
  } finally {
    await server.stop();
  }
});

test("memory checker blocks third login", async () => {
  const kind = "chirp-rate-limit-memory-login";
  const server = await startServer(kind, { rateLimit: rateLimitSettings(kind, "checker", null) });
  try {
    assert.equal(CHECK_LIMIT, 2);
    assert.deepEqual(await checkRateLimit(server.url, CHECK_LIMIT), []);
  } finally {
    await server.stop();
  }
});

test("Redis checker blocks third login", { skip: redisSkipReason() }, async () => {
  await withRedis(async (redis) => {
    const kind = "chirp-rate-limit-redis-login";
    const server = await startServer(kind, { rateLimit: rateLimitSettings(kind, "checker", redis.server.port) });
    try {
      assert.deepEqual(await checkRateLimit(server.url, CHECK_LIMIT), []);
      const keys = await redis.client.keys("chirp-bench:checker:*");
      assert.ok(
        keys.some((key) => key.endsWith(":blocked")),
        `keys: ${JSON.stringify(keys)}`,
      );
    } finally {
      await server.stop();
    }
  });
});

test("checkers pass and leave measured keys alone", { skip: redisSkipReason() }, async () => {
  await withRedis(async (redis) => {
    assert.deepEqual(await checkCheckers(redis.server.port), []);
    assert.deepEqual(await redis.client.keys("chirp-bench:measured:*"), []);
  });
});

test("rate limit check rejects no limit", async () => {
  await withLocalServer(
    (req, res) => {
      res.writeHead(200, { "content-type": "text/html; charset=utf-8" });
      res.end(req.method === "POST" ? "ok" : "Hello");
    },
    async (url) => {
      const problems = await checkRateLimit(url, CHECK_LIMIT);
      assert.deepEqual(problems, [
        `rate limit checker at ${url}: POST /login number 3: status 200, expected 429`,
        `rate limit checker at ${url}: POST /login number 3: Retry-After null, expected 1 to 300 seconds`,
        `rate limit checker at ${url}: POST /login number 4: status 200, expected 429`,
        `rate limit checker at ${url}: POST /login number 4: Retry-After null, expected 1 to 300 seconds`,
      ]);
    },
  );
});

test("rate limit check rejects counted GET", async () => {
  // Counts every request, so the GETs use up the allowance before the first login.
  let count = 0;
  await withLocalServer(
    (req, res) => {
      count += 1;
      if (count > CHECK_LIMIT) {
        res.writeHead(429, { "retry-after": "300" });
        res.end("Too Many Requests");
        return;
      }
      res.writeHead(200, { "content-type": "text/html; charset=utf-8" });
      res.end(req.method === "POST" ? "ok" : "Hello");
    },
    async (url) => {
      const problems = await checkRateLimit(url, CHECK_LIMIT);
      assert.ok(
        problems.includes(
          `rate limit checker at ${url}: GET / number 3: status 429 and body "Too Many Requests", expected 200 and "Hello"`,
        ),
        problems.join("\n"),
      );
      assert.ok(
        problems.some((problem) => problem.includes("POST /login number 1: status 429")),
        problems.join("\n"),
      );
      assert.ok(
        problems.some((problem) =>
          problem.endsWith('GET / while blocked: status 429 and body "Too Many Requests", expected 200 and "Hello"'),
        ),
        problems.join("\n"),
      );
    },
  );
});

test("counting check rejects memory server without limit", async () => {
  const server = await startServer("chirp-no-rate-limit-login");
  try {
    assert.deepEqual(await checkServer("chirp-no-rate-limit-login", server.url), []);
    const problems = await checkCounting({ ...server, kind: "chirp-rate-limit-memory-login" }, null);
    assert.deepEqual(problems, [
      `chirp-rate-limit-memory-login at ${server.url}: the server reports no MemoryRateLimitBackend`,
    ]);
  } finally {
    await server.stop();
  }
});

test("counting check rejects Redis server without limit", { skip: redisSkipReason() }, async () => {
  await withRedis(async (redis) => {
    const server = await startServer("chirp-no-rate-limit-login");
    try {
      const problems = await checkCounting({ ...server, kind: "chirp-rate-limit-redis-login" }, redis.client);
      const prefix = "chirp-bench:measured:chirp-rate-limit-redis-login:";
      assert.deepEqual(problems, [
        `chirp-rate-limit-redis-login at ${server.url}: Redis holds [] under ${prefix}, expected one counter`,
      ]);
    } finally {
      await server.stop();
    }
  });
});

test("counting check rejects counted GET on Redis", { skip: redisSkipReason() }, async () => {
  await withRedis(async (redis) => {
    const kind = "chirp-rate-limit-redis";
    const server = await startServer(kind, { rateLimit: rateLimitSettings(kind, "measured", redis.server.port) });
    try {
      const key = "chirp-bench:measured:chirp-rate-limit-redis:127.0.0.1";
      await redis.client.set(key, "1");
      assert.deepEqual(await checkCounting(server, redis.client), [
        `${kind} at ${server.url}: Redis holds ${JSON.stringify([key])}, expected no key under chirp-bench:measured:${kind}:`,
      ]);
    } finally {
      await server.stop();
    }
  });
});

test("chirp child imports src on request", async () => {
  const server = await startServer("chirp-hello", { env: { BENCH_CHIRP: "src" } });
  try {
    assert.equal(server.build, "src");
    assert.deepEqual(await checkServer("chirp-hello", server.url), []);
  } finally {
    await server.stop();
  }
});

test("session child imports src on request", async () => {
  const server = await startServer("chirp-session-cookie", { env: { BENCH_CHIRP: "src" } });
  try {
    assert.equal(server.build, "src");
    assert.deepEqual(await checkServer("chirp-session-cookie", server.url), []);
  } finally {
    await server.stop();
  }
});

test("login cookie works for load", async () => {
  const [issuer, baseline] = await Promise.all([startServer("chirp-session-cookie"), startServer("chirp-no-session")]);
  try {
    const login = await logIn(issuer.url);
    assert.deepEqual(login.problems, []);
    assert.match(login.cookie ?? "", /^chirp_session=[A-Za-z0-9_-]{40,}$/);
    const cookie = login.cookie!;
    assert.deepEqual(await checkServer("chirp-session-cookie", issuer.url, cookie), []);
    assert.deepEqual(await checkServer("chirp-no-session", baseline.url, cookie), []);

    // The cookie store authenticates the cookie, so one changed character opens no session.
    // The last character can carry unused padding bits, so change one before it.
    const index = cookie.length - 5;
    const tampered = `${cookie.slice(0, index)}${cookie[index] === "A" ? "B" : "A"}${cookie.slice(index + 1)}`;
    const problems = await checkServer("chirp-session-cookie", issuer.url, tampered);
    assert.ok(
      problems.some((problem) => problem.endsWith('body is "Hello anonymous", expected "Hello alice"')),
      problems.join("\n"),
    );
  } finally {
    await Promise.all([issuer.stop(), baseline.stop()]);
  }
});

test("memory store rejects unknown id", async () => {
  const server = await startServer("chirp-session-memory");
  try {
    const unknown = `chirp_session=${"A".repeat(43)}`;
    const problems = await checkServer("chirp-session-memory", server.url, unknown);
    assert.ok(
      problems.some((problem) => problem.endsWith('body is "Hello anonymous", expected "Hello alice"')),
      problems.join("\n"),
    );
  } finally {
    await server.stop();
  }
});

/** Behaviour of a fake session server, for testing the checks. */
interface FakeSession {
  /** Set-Cookie values of `POST /login`. */
  loginCookies: string[];
  /** Body of `GET /` for the Cookie header received. */
  greet: (cookie: string | undefined) => string;
  /** Set-Cookie values of `GET /`. */
  readCookies: string[];
}

function fakeSessionServer(fake: FakeSession): RequestListener {
  return (req, res) => {
    const cookies = req.method === "POST" ? fake.loginCookies : fake.readCookies;
    const body = req.method === "POST" ? "Logged in" : fake.greet(req.headers.cookie);
    const headers: [string, string][] = [["content-type", "text/html; charset=utf-8"]];
    for (const cookie of cookies) headers.push(["set-cookie", cookie]);
    res.writeHead(200, headers.flat());
    res.end(body);
  };
}

const LOGIN_COOKIE = "chirp_session=abc; Path=/; HttpOnly; SameSite=Lax";

test("check accepts fake session server", async () => {
  await withLocalServer(
    fakeSessionServer({
      loginCookies: [LOGIN_COOKIE],
      greet: (cookie) => (cookie === "chirp_session=abc" ? "Hello alice" : "Hello anonymous"),
      readCookies: [],
    }),
    async (url) => {
      assert.deepEqual(await checkServer("chirp-session-cookie", url), []);
    },
  );
});

test("check rejects cookie rewrite on read", async () => {
  await withLocalServer(
    fakeSessionServer({
      loginCookies: [LOGIN_COOKIE],
      greet: (cookie) => (cookie === undefined ? "Hello anonymous" : "Hello alice"),
      readCookies: ["chirp_session=def; Path=/; HttpOnly; SameSite=Lax"],
    }),
    async (url) => {
      const problems = await checkServer("chirp-session-memory", url);
      assert.equal(problems.length, 2, problems.join("\n"));
      assert.match(problems[0]!, /GET \/ sets \["chirp_session=def; .*"\], expected no Set-Cookie$/);
      assert.match(problems[1]!, /without a cookie: GET \/ sets .*, expected no Set-Cookie$/);
    },
  );
});

test("check rejects greeting without session", async () => {
  await withLocalServer(
    fakeSessionServer({ loginCookies: [LOGIN_COOKIE], greet: () => "Hello alice", readCookies: [] }),
    async (url) => {
      assert.deepEqual(await checkServer("chirp-session-cookie", url), [
        `chirp-session-cookie at ${url}: without a cookie: body is "Hello alice", expected "Hello anonymous"`,
      ]);
    },
  );
});

test("check rejects ignored session cookie", async () => {
  await withLocalServer(
    fakeSessionServer({ loginCookies: [LOGIN_COOKIE], greet: () => "Hello anonymous", readCookies: [] }),
    async (url) => {
      assert.deepEqual(await checkServer("chirp-session-cookie", url), [
        `chirp-session-cookie at ${url}: body is "Hello anonymous", expected "Hello alice"`,
      ]);
    },
  );
});

test("check rejects login without cookie", async () => {
  for (const loginCookies of [[], [LOGIN_COOKIE, "other=1"], ["session=abc; Path=/"]]) {
    await withLocalServer(
      fakeSessionServer({ loginCookies, greet: () => "Hello alice", readCookies: [] }),
      async (url) => {
        const problems = await checkServer("chirp-session-cookie", url);
        assert.equal(problems.length, 1, problems.join("\n"));
        assert.match(problems[0]!, /POST \/login sets .*, expected one chirp_session cookie$/);
      },
    );
  }
});

test("check rejects wrong hello body", async () => {
  await withLocalServer(
    (_req, res) => {
      res.writeHead(200, { "content-type": "text/plain" });
      res.end("Hi");
    },
    async (url) => {
      const problems = await checkServer("chirp-hello", url);
      assert.equal(problems.length, 2, problems.join("\n"));
      assert.match(problems[0]!, /content-type is "text\/plain", expected text\/html/);
      assert.match(problems[1]!, /body is "Hi", expected "Hello"/);
    },
  );
});

test("check rejects error status", async () => {
  await withLocalServer(
    (_req, res) => {
      res.writeHead(500, { "content-type": "text/html" });
      res.end("Hello");
    },
    async (url) => {
      assert.deepEqual(await checkServer("bare-hello", url), [`bare-hello at ${url}: status is 500, expected 200`]);
    },
  );
});

test("check rejects unescaped page", async () => {
  await withLocalServer(
    (_req, res) => {
      res.writeHead(200, { "content-type": "text/html" });
      res.end("<title>Benchmark <page></title><script>alert(1)</script>");
    },
    async (url) => {
      const problems = await checkServer("chirp-template", url);
      assert.ok(
        problems.some((problem) => problem.includes('unescaped "<script>"')),
        problems.join("\n"),
      );
      assert.ok(
        problems.some((problem) => problem.includes("0 list items, expected 10")),
        problems.join("\n"),
      );
    },
  );
});

import assert from "node:assert/strict";
import { createServer, type RequestListener, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { test } from "node:test";
import { SERVER_KINDS } from "../../bench/protocol.js";
import { checkServer, logIn, startServer } from "../../bench/servers.js";

async function withLocalServer(listener: RequestListener, run: (url: string) => Promise<void>): Promise<void> {
  const server: Server = createServer(listener);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  try {
    await run(`http://127.0.0.1:${(server.address() as AddressInfo).port}/`);
  } finally {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
}

for (const kind of SERVER_KINDS) {
  test(`${kind} server passes checks`, async () => {
    const server = await startServer(kind);
    try {
      assert.match(server.url, /^http:\/\/127\.0\.0\.1:\d+\/$/);
      if (kind.startsWith("chirp-"))
        assert.ok(server.build === "dist" || server.build === "src", `build is ${server.build}`);
      else assert.equal(server.build, null);
      assert.deepEqual(await checkServer(kind, server.url), []);

      const stats = await server.stats();
      assert.ok(stats.rss > 0, `rss is ${stats.rss}`);
      assert.ok(stats.maxRss >= stats.rss, `maxRss ${stats.maxRss} is below rss ${stats.rss}`);
      assert.ok(stats.cpuMicros > 0, `cpuMicros is ${stats.cpuMicros}`);
    } finally {
      await server.stop();
    }
    assert.notEqual(server.child.exitCode ?? server.child.signalCode, null, "child still running after stop()");
  });
}

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

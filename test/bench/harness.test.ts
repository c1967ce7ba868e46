import assert from "node:assert/strict";
import { createServer, type RequestListener, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { test } from "node:test";
import { SERVER_KINDS } from "../../bench/protocol.js";
import { checkServer, startServer } from "../../bench/servers.js";

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

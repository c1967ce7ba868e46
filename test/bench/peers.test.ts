import assert from "node:assert/strict";
import { before, test } from "node:test";
import { checkHardened, checkHello } from "../../bench/peers/client.js";
import { PEER_SCENARIOS, PeerCheckError, measurePeer, startPeer, type PeerScenario } from "../../bench/peers/run.js";
import { PASSWORD, PEERS } from "../../bench/peers/spec.js";
import { hashPassword } from "../../src/security/index.js";
import { withLocalServer } from "../helpers.js";

let passwordHash = "";

before(async () => {
  passwordHash = await hashPassword(PASSWORD);
});

function scenario(id: PeerScenario["id"]): PeerScenario {
  const found = PEER_SCENARIOS.find((candidate) => candidate.id === id);
  assert.ok(found, id);
  return found;
}

for (const peer of PEERS) {
  test(`${peer} hello server passes checks`, async () => {
    const target = await startPeer(peer, scenario("hello"), passwordHash);
    try {
      assert.deepEqual(await checkHello(target.server.url), []);
      assert.equal(target.load.url, target.server.url);
    } finally {
      await target.server.stop();
    }
  });

  // startPeer runs the checks of the hardened app, attacks included, and throws PeerCheckError
  // when one fails. In this scenario it also uses up the login limit.
  test(`${peer} hardened server passes checks`, async () => {
    const target = await startPeer(peer, scenario("login-429"), passwordHash);
    try {
      assert.equal(target.load.method, "POST");
      assert.match(target.load.url, /\/login$/);
      assert.deepEqual(await target.recheck(), []);
      const response = await fetch(target.load.url, {
        method: "POST",
        headers: { ...target.load.headers, cookie: target.load.cookie ?? "" },
        body: target.load.body ?? null,
      });
      assert.equal(response.status, 429);
    } finally {
      await target.server.stop();
    }
  });
}

test("chirp burst round counts logins", async () => {
  const burst = scenario("burst");
  const target = await startPeer("chirp", burst, passwordHash);
  try {
    const round = await measurePeer(burst, target, { connections: 4, seconds: 1, rounds: 1, warmupSeconds: 0 }, 1);
    assert.ok(round.requests > 0, `${round.requests} page reads`);
    assert.ok((round.loginsPerSecond ?? 0) > 0, `${String(round.loginsPerSecond)} logins/s`);
    assert.deepEqual(Object.keys(round.statuses), ["200"]);
  } finally {
    await target.server.stop();
  }
});

test("load with a wrong status fails the round", async () => {
  const form = scenario("form");
  const target = await startPeer("bare", form, passwordHash);
  try {
    // The form scenario expects 200, so expecting 429 makes every response wrong.
    const wrong: PeerScenario = { ...form, status: 429 };
    await assert.rejects(
      measurePeer(wrong, target, { connections: 2, seconds: 1, rounds: 1, warmupSeconds: 0 }, 1),
      (error: unknown) => error instanceof PeerCheckError && /expected 429 only/.test(error.message),
    );
  } finally {
    await target.server.stop();
  }
});

test("checks catch a page without security headers", async () => {
  await withLocalServer(
    (req, res) => {
      if (req.method === "POST" && req.url === "/login") {
        res.writeHead(303, { location: "/account", "set-cookie": "session=s1; Path=/" });
        res.end();
      } else if (req.url === "/login") {
        res.writeHead(200, { "content-type": "text/html" });
        res.end('<input type="hidden" name="_csrf" value="0123456789abcdef0123" />');
      } else {
        res.writeHead(200, { "content-type": "text/html" });
        res.end("<h1>Alice &lt;admin&gt;</h1>");
      }
    },
    async (url) => {
      const { problems, session } = await checkHardened("chirp", url);
      assert.equal(session, null);
      assert.ok(
        problems.some((problem) => problem.includes("content-security-policy")),
        problems.join("\n"),
      );
      assert.ok(
        problems.some((problem) => problem.includes("no CSRF field")),
        problems.join("\n"),
      );
      assert.ok(
        problems.some((problem) => problem.includes("POST /notes")),
        problems.join("\n"),
      );
    },
  );
});

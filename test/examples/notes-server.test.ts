import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { request } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test, type TestContext } from "node:test";
import { fileURLToPath } from "node:url";

// Each test starts examples/notes/server.ts as `npm start` does, in its own process, so
// start-up checks and messages are tested as an operator sees them.

const SERVER = fileURLToPath(new URL("../../examples/notes/server.ts", import.meta.url));
const REPOSITORY = fileURLToPath(new URL("../../", import.meta.url));
const SECRET_KEY = "notes-server-test-secret-key-that-is-long-enough-0123";
const START_TIMEOUT_MS = 30_000;
/** Variables of this process that the server must not inherit, because the tests set them. */
const CLEARED_VARIABLES = new Set([
  "CHIRP_ENV",
  "CHIRP_SECRET_KEY",
  "NODE_ENV",
  "NOTES_ALLOWED_HOSTS",
  "NOTES_DEMO_PASSWORD",
  "NOTES_PUBLIC_ORIGIN",
]);

interface ServerProcess {
  readonly child: ChildProcess;
  output(): string;
  /** Resolves with the exit code once the process has exited. */
  readonly exited: Promise<number | null>;
}

/** Starts the notes server with `env` added to this process's environment, minus CLEARED_VARIABLES. */
async function startServer(t: TestContext, env: Record<string, string>): Promise<ServerProcess> {
  const directory = await mkdtemp(join(tmpdir(), "chirp-notes-server-"));
  t.after(() => rm(directory, { recursive: true, force: true }));
  const inherited = Object.entries(process.env).filter(([name]) => !CLEARED_VARIABLES.has(name));
  const childEnv: NodeJS.ProcessEnv = {
    ...Object.fromEntries(inherited),
    PORT: "0",
    HOST: "127.0.0.1",
    NOTES_DATABASE: join(directory, "notes.sqlite3"),
    ...env,
  };

  const child = spawn(process.execPath, ["--import", "tsx", SERVER], {
    cwd: REPOSITORY,
    env: childEnv,
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  child.stdout.on("data", (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on("data", (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.once("exit", resolve));
  t.after(async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill("SIGKILL");
      await exited;
    }
  });
  return { child, output: () => output, exited };
}

/** Waits until the server prints its address, and returns it. Throws when it exits or times out first. */
async function waitForAddress(server: ServerProcess): Promise<string> {
  const deadline = Date.now() + START_TIMEOUT_MS;
  while (Date.now() < deadline) {
    const match = /Notes app listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(server.output());
    if (match?.[1] !== undefined) return match[1];
    if (server.child.exitCode !== null) {
      throw new Error(`the server exited with code ${String(server.child.exitCode)}: ${server.output()}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`the server did not start within ${String(START_TIMEOUT_MS)} ms: ${server.output()}`);
}

/** Sends GET / with a chosen Host header, which fetch does not allow, and returns the status. */
function statusWithHost(origin: string, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const outgoing = request(`${origin}/`, { headers: { host }, timeout: 5000 }, (response) => {
      response.resume();
      resolve(response.statusCode ?? 0);
    });
    outgoing.once("timeout", () => outgoing.destroy(new Error("GET / timed out")));
    outgoing.once("error", reject);
    outgoing.end();
  });
}

test("production server starts with a secret", async (t) => {
  const server = await startServer(t, { CHIRP_ENV: "production", CHIRP_SECRET_KEY: SECRET_KEY });

  const origin = await waitForAddress(server);
  const home = await fetch(`${origin}/`, { signal: AbortSignal.timeout(5000) });
  const body = await home.text();
  const unknownHost = await statusWithHost(origin, "evil.example");
  server.child.kill("SIGTERM");
  const code = await server.exited;

  assert.equal(home.status, 200);
  assert.match(body, /<title>Home · bengal-chirp<\/title>/);
  assert.match(home.headers.get("content-security-policy") ?? "", /script-src 'self' 'nonce-/);
  assert.equal(home.headers.get("x-frame-options"), "DENY");
  assert.equal(unknownHost, 400);
  assert.equal(code, 0, server.output());
  assert.doesNotMatch(server.output(), /password/i, "production never prints the demo password");
});

test("production server without a secret exits", async (t) => {
  const server = await startServer(t, { CHIRP_ENV: "production" });

  const code = await server.exited;

  assert.equal(code, 1);
  assert.match(
    server.output(),
    /Could not start the notes app: The secret key is missing: pass secretKey or set CHIRP_SECRET_KEY\. Generate one with `npx chirp secret`/,
  );
  assert.doesNotMatch(server.output(), /listening/);
});

test("server accepts NOTES_ALLOWED_HOSTS only", async (t) => {
  const server = await startServer(t, {
    CHIRP_ENV: "production",
    CHIRP_SECRET_KEY: SECRET_KEY,
    NOTES_ALLOWED_HOSTS: "notes.example.com, 127.0.0.1",
  });

  const origin = await waitForAddress(server);
  const statuses = {
    listed: await statusWithHost(origin, "notes.example.com"),
    address: await statusWithHost(origin, "127.0.0.1"),
    unlisted: await statusWithHost(origin, "localhost"),
  };
  server.child.kill("SIGTERM");
  await server.exited;

  assert.deepEqual(statuses, { listed: 200, address: 200, unlisted: 400 });
  assert.match(
    server.output(),
    /^\{"name":"host\.reject",.*"details":\{"host":"localhost"\}\}$/m,
    "events go to stdout",
  );
});

test("server with an invalid host list exits", async (t) => {
  const server = await startServer(t, { CHIRP_SECRET_KEY: SECRET_KEY, NOTES_ALLOWED_HOSTS: "*" });

  const code = await server.exited;

  assert.equal(code, 1);
  assert.match(server.output(), /Could not start the notes app: Invalid host in NOTES_ALLOWED_HOSTS: .*"\*"/);
});

test("server with an invalid public origin exits", async (t) => {
  const server = await startServer(t, { CHIRP_SECRET_KEY: SECRET_KEY, NOTES_PUBLIC_ORIGIN: "notes.example.com/app" });

  const code = await server.exited;

  assert.equal(code, 1);
  assert.match(
    server.output(),
    /Could not start the notes app: publicOrigin must be an origin .*"notes\.example\.com\/app"/,
  );
});

test("development server logs reset links", async (t) => {
  const server = await startServer(t, { CHIRP_ENV: "development", NOTES_PUBLIC_ORIGIN: "https://notes.example.com" });

  const origin = await waitForAddress(server);
  const page = await fetch(`${origin}/password-reset`, { signal: AbortSignal.timeout(5000) });
  const cookie = (page.headers.get("set-cookie") ?? "").split(";")[0] ?? "";
  const token = /name="_csrf_token" value="([^"]+)"/.exec(await page.text())?.[1] ?? "";
  const reset = await fetch(`${origin}/password-reset`, {
    method: "POST",
    headers: { cookie, "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({ _csrf_token: token, email: "alice@example.com" }),
    signal: AbortSignal.timeout(5000),
  });
  await reset.text();
  server.child.kill("SIGTERM");
  await server.exited;

  assert.equal(reset.status, 200);
  assert.match(
    server.output(),
    /"msg":"Password reset link for alice@example\.com: https:\/\/notes\.example\.com\/password-reset\/confirm\?token=[^"]+"/,
  );
  assert.match(server.output(), /^\{"name":"password\.reset\.requested",.*"userId":"1"/m);
});

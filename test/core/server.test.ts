import assert from "node:assert/strict";
import { createServer, request as httpRequest, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { test } from "node:test";
import { App } from "../../src/index.js";
import { captureLogger } from "../helpers.js";

function baseUrl(server: Server): string {
  const { port } = server.address() as AddressInfo;
  return `http://127.0.0.1:${String(port)}`;
}

interface RawResult {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** Sends a request with node:http so the test controls the body stream and sees the raw result. */
function send(
  url: string,
  options: { method: string; headers?: Record<string, string>; chunks?: Buffer[] },
): Promise<RawResult> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { method: options.method, headers: options.headers ?? {} }, (res) => {
      const parts: Buffer[] = [];
      res.on("data", (chunk: Buffer) => parts.push(chunk));
      res.on("end", () => {
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(parts).toString() });
      });
      res.on("error", reject);
    });
    req.on("error", reject);
    for (const chunk of options.chunks ?? []) req.write(chunk);
    req.end();
  });
}

function makeApp(): App {
  const app = new App({ env: "test", logger: captureLogger(), limits: { bodyBytes: 64 * 1024 } });
  app.get("/", () => "Hello");
  app.post("/echo", async (req) => ({ length: (await req.text()).length }));
  app.get("/slow", async () => {
    await new Promise((resolve) => setTimeout(resolve, 300));
    return "slow done";
  });
  return app;
}

test("listen serves on 127.0.0.1", async () => {
  const app = makeApp();
  const server = await app.listen({ port: 0, host: "127.0.0.1" });
  try {
    const response = await fetch(`${baseUrl(server)}/`);
    assert.equal(response.status, 200);
    assert.equal(await response.text(), "Hello");
    assert.equal(response.headers.get("content-length"), "5");
  } finally {
    await app.close();
  }
});

test("HEAD over the network has no body", async () => {
  const app = makeApp();
  const server = await app.listen({ port: 0 });
  try {
    const result = await send(`${baseUrl(server)}/`, { method: "HEAD" });
    assert.equal(result.status, 200);
    assert.equal(result.headers["content-length"], "5");
    assert.equal(result.body, "");
  } finally {
    await app.close();
  }
});

test("oversized body with Content-Length gets 413", async () => {
  const app = makeApp();
  const server = await app.listen({ port: 0 });
  try {
    const body = Buffer.alloc(2 * 1024 * 1024, 120);
    const result = await send(`${baseUrl(server)}/echo`, {
      method: "POST",
      headers: { "content-type": "text/plain", "content-length": String(body.length) },
      chunks: [body],
    });
    assert.equal(result.status, 413);
    assert.equal(result.headers.connection, "close");
    // The server is still healthy afterwards.
    const next = await fetch(`${baseUrl(server)}/`);
    assert.equal(next.status, 200);
  } finally {
    await app.close();
  }
});

test("oversized chunked body gets 413", async () => {
  const app = makeApp();
  const server = await app.listen({ port: 0 });
  try {
    const chunks = Array.from({ length: 40 }, () => Buffer.alloc(16 * 1024, 121));
    const result = await send(`${baseUrl(server)}/echo`, {
      method: "POST",
      headers: { "content-type": "text/plain" },
      chunks,
    });
    assert.equal(result.status, 413);
    const small = await send(`${baseUrl(server)}/echo`, { method: "POST", chunks: [Buffer.from("abc")] });
    assert.equal(small.body, '{"length":3}');
  } finally {
    await app.close();
  }
});

test("Expect 100-continue is refused for oversized bodies", async () => {
  const app = makeApp();
  const server = await app.listen({ port: 0 });
  try {
    const url = `${baseUrl(server)}/echo`;
    const expectContinue = (length: number): Promise<{ continued: boolean; status: number }> =>
      new Promise((resolve, reject) => {
        let continued = false;
        const req = httpRequest(url, {
          method: "POST",
          headers: { "content-type": "text/plain", "content-length": String(length), expect: "100-continue" },
        });
        req.on("continue", () => {
          continued = true;
          req.end(Buffer.alloc(length, 97));
        });
        req.on("response", (res) => {
          res.resume();
          res.on("end", () => {
            resolve({ continued, status: res.statusCode ?? 0 });
          });
        });
        req.on("error", reject);
        req.flushHeaders();
      });
    assert.deepEqual(await expectContinue(10 * 1024 * 1024), { continued: false, status: 413 });
    assert.deepEqual(await expectContinue(100), { continued: true, status: 200 });
  } finally {
    await app.close();
  }
});

test("close waits for in-flight requests", async () => {
  const app = makeApp();
  const url = baseUrl(await app.listen({ port: 0 }));
  const inFlight = fetch(`${url}/slow`);
  await new Promise((resolve) => setTimeout(resolve, 50));
  const started = Date.now();
  await app.close();
  const response = await inFlight;
  assert.equal(await response.text(), "slow done");
  assert.ok(Date.now() - started < 2000, "close returned soon after the last response");
  await assert.rejects(fetch(`${url}/`));
});

test("handler works with node:http", async () => {
  const app = makeApp();
  const server = createServer(app.handler());
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  try {
    const response = await fetch(`${baseUrl(server)}/missing`, { headers: { accept: "application/json" } });
    assert.equal(response.status, 404);
    assert.deepEqual(await response.json(), { error: "Not Found", status: 404, detail: "Not Found" });
  } finally {
    await new Promise((resolve) => server.close(resolve));
  }
});

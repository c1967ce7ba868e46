import assert from "node:assert/strict";
import { test } from "node:test";
import { App, ConfigurationError, HTTPError, Response, Template } from "../../src/index.js";
import type { MiddlewareObject, Next, Request } from "../../src/index.js";
import { TestClient } from "../../src/testing/index.js";
import { captureLogger, writeTemplates } from "../helpers.js";

test("middleware runs in the order added", async () => {
  const order: string[] = [];
  const app = new App({ env: "test" });
  app.addMiddleware(async (_req, next) => {
    order.push("first in");
    const response = await next();
    order.push("first out");
    return response.withHeader("x-first", "1");
  });
  app.addMiddleware({
    async handle(_req: Request, next: Next) {
      order.push("second in");
      const response = await next();
      order.push("second out");
      return response;
    },
  });
  app.get("/", () => {
    order.push("handler");
    return "ok";
  });
  const response = await new TestClient(app).get("/");
  assert.equal(response.header("x-first"), "1");
  assert.deepEqual(order, ["first in", "second in", "handler", "second out", "first out"]);
});

test("middleware sees the matched route", async () => {
  const app = new App({ env: "test" });
  let seen: [string | null, Record<string, string>] | undefined;
  app.addMiddleware(async (req, next) => {
    seen = [req.route, { ...req.params }];
    return next();
  });
  app.get("/notes/:id", () => "ok");
  await new TestClient(app).get("/notes/12");
  assert.deepEqual(seen, ["/notes/:id", { id: "12" }]);
});

test("short-circuit skips the handler", async () => {
  const app = new App({ env: "test" });
  let handlerCalls = 0;
  let innerCalls = 0;
  app.addMiddleware(() => Promise.resolve(Response.text("blocked", 403)));
  app.addMiddleware(async (_req, next) => {
    innerCalls += 1;
    return next();
  });
  app.get("/", () => {
    handlerCalls += 1;
    return "ok";
  });
  const response = await new TestClient(app).get("/");
  assert.equal(response.status, 403);
  assert.equal(response.text, "blocked");
  assert.equal(handlerCalls, 0);
  assert.equal(innerCalls, 0);
});

test("middleware error becomes error page", async () => {
  const logger = captureLogger();
  const app = new App({ env: "test", logger });
  let outerStatus: number | undefined;
  app.addMiddleware(async (_req, next) => {
    const response = await next();
    outerStatus = response.status;
    return response;
  });
  app.addMiddleware(() => {
    throw new HTTPError(429, "Slow down", { headers: { "retry-after": "30" } });
  });
  app.get("/", () => "ok");
  const response = await new TestClient(app).get("/");
  assert.equal(response.status, 429);
  assert.equal(response.header("retry-after"), "30");
  assert.equal(outerStatus, 429);
  assert.equal(logger.entries.length, 0);
});

test("outer middleware sees 404 as a response", async () => {
  const app = new App({ env: "test" });
  app.addMiddleware(async (_req, next) => (await next()).withHeader("x-seen", "yes"));
  const response = await new TestClient(app).get("/missing");
  assert.equal(response.status, 404);
  assert.equal(response.header("x-seen"), "yes");
});

test("middleware returning nothing gives 500", async () => {
  const logger = captureLogger();
  const app = new App({ env: "test", logger });
  app.addMiddleware((() => Promise.resolve(undefined)) as never);
  app.get("/", () => "ok");
  const response = await new TestClient(app).get("/");
  assert.equal(response.status, 500);
  assert.match((logger.entries[0]?.fields.err as Error).message, /instead of a Response/);
});

test("next called twice is an error", async () => {
  const logger = captureLogger();
  const app = new App({ env: "test", logger });
  app.addMiddleware(async (_req, next) => {
    await next();
    return next();
  });
  app.get("/", () => "ok");
  assert.equal((await new TestClient(app).get("/")).status, 500);
  assert.match((logger.entries[0]?.fields.err as Error).message, /called twice/);
});

class SessionLike implements MiddlewareObject {
  handle(_req: Request, next: Next): Promise<Response> {
    return next();
  }
}

class NeedsSession implements MiddlewareObject {
  readonly requires = ["SessionLike"];
  handle(_req: Request, next: Next): Promise<Response> {
    return next();
  }
}

test("requires passes in the right order", () => {
  const app = new App({ env: "test" });
  app.addMiddleware(new SessionLike());
  app.addMiddleware(new NeedsSession());
  assert.doesNotThrow(() => app.ready());
});

test("requires fails at start-up", () => {
  const wrongOrder = new App({ env: "test" });
  wrongOrder.addMiddleware(new NeedsSession());
  wrongOrder.addMiddleware(new SessionLike());
  assert.throws(() => new TestClient(wrongOrder), ConfigurationError);
  assert.throws(() => wrongOrder.ready(), /NeedsSession requires SessionLike to run before it/);

  const missing = new App({ env: "test" });
  missing.addMiddleware(new NeedsSession());
  assert.throws(() => missing.handler(), /requires SessionLike/);
});

test("unnamed middleware is named by position", () => {
  const app = new App({ env: "test" });
  app.addMiddleware({ requires: ["SessionLike"], handle: (_req: Request, next: Next) => next() });
  assert.throws(() => app.ready(), /middleware #1 requires SessionLike/);
});

test("listen rejects a bad middleware order", async () => {
  const app = new App({ env: "test" });
  app.addMiddleware(new NeedsSession());
  await assert.rejects(app.listen({ port: 0 }), ConfigurationError);
});

test("setup hook can stop start-up", () => {
  const app = new App({ env: "production" });
  app.addMiddleware({
    handle: (_req: Request, next: Next) => next(),
    setup(started: App) {
      if (started.env === "production") throw new ConfigurationError("insecure in production");
    },
  });
  assert.throws(() => app.ready(), /insecure in production/);
});

test("finalizeResponse reaches early responses", async () => {
  const app = new App({ env: "test" });
  app.addMiddleware(() => Promise.resolve(Response.text("early", 403)));
  app.addMiddleware({
    handle: (_req: Request, next: Next) => next(),
    finalizeResponse: (_req: Request, response: Response) => response.withHeader("x-final", "1"),
  });
  app.get("/", () => "ok");
  const response = await new TestClient(app).get("/");
  assert.equal(response.status, 403);
  assert.equal(response.header("x-final"), "1");
});

test("middleware template globals read the request", async () => {
  const templates = writeTemplates({ "page.html": "[{{ where() }}|{{ shout('hi') }}]" });
  const app = new App({ env: "test", templates });
  app.addMiddleware({
    handle: (_req: Request, next: Next) => next(),
    templateGlobals: {
      where: (req: Request) => req.path,
      shout: (_req: Request, text: string) => text.toUpperCase(),
    },
  });
  app.get("/somewhere", () => Template("page.html"));
  const response = await new TestClient(app).get("/somewhere");
  assert.equal(response.text, "[/somewhere|HI]");
});

test("addMiddleware rejects non-middleware", () => {
  const app = new App({ env: "test" });
  assert.throws(() => app.addMiddleware({} as never), /handle\(req, next\)/);
});

/*
 * Entry point of one benchmark server process. The parent forks it with an IPC channel, the
 * server kind as the first argument and, for the rate limit servers, their settings as JSON
 * in the second. This process replies with its port once it listens on 127.0.0.1. It exits
 * when the parent sends "stop" or goes away.
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import type { Redis } from "ioredis";
import nunjucks from "nunjucks";
import type * as Chirp from "../src/index.js";
import type * as ChirpMiddleware from "../src/middleware/index.js";
import { reportStartFailure, requireParent, serveParent, type ServedChild } from "./child-runtime.js";
import { importChirp } from "./import-chirp.js";
import type { RateLimitBackend } from "../src/stores/rate-limit.js";
import { PAGE_TEMPLATE, TEMPLATE_DIRECTORY, pageContext } from "./page.js";
import {
  LOGIN_BODY,
  REDIS_KINDS,
  SERVER_KINDS,
  SESSION_USER,
  UNREACHABLE_LIMIT,
  isServerKind,
  type ChirpBuild,
  type RateLimitKind,
  type RateLimitSettings,
  type ServerKind,
} from "./protocol.js";

const HOST = "127.0.0.1";
const HELLO = "Hello";
// A fixed key of 48 ASCII characters, so cookies stay valid across restarts of the child.
const SESSION_SECRET_KEY = "bench-only-session-key-do-not-use-in-production!";
// The same headers chirp sends for a string result, so both servers put the same bytes on the wire.
const HELLO_HEADERS = {
  "content-type": "text/html; charset=utf-8",
  "content-length": String(Buffer.byteLength(HELLO)),
};

type Started = ServedChild;

function listenBare(server: Server): Promise<Started> {
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, HOST, () => {
      server.off("error", reject);
      resolve({
        port: (server.address() as AddressInfo).port,
        build: null,
        close: () =>
          new Promise((done) => {
            server.close(() => {
              done();
            });
          }),
      });
    });
  });
}

function startBareHello(): Promise<Started> {
  return listenBare(
    createServer(function answerHello(_req, res) {
      res.writeHead(200, HELLO_HEADERS);
      res.end(HELLO);
    }),
  );
}

function startBareTemplate(): Promise<Started> {
  // The options chirp's TemplateEngine sets, with the template cache on as in production.
  const environment = new nunjucks.Environment(new nunjucks.FileSystemLoader(TEMPLATE_DIRECTORY), {
    autoescape: true,
    throwOnUndefined: false,
    trimBlocks: true,
    lstripBlocks: true,
  });
  return listenBare(
    createServer(function renderPage(_req, res) {
      const html = environment.render(PAGE_TEMPLATE, pageContext());
      res.writeHead(200, {
        "content-type": "text/html; charset=utf-8",
        "content-length": String(Buffer.byteLength(html)),
      });
      res.end(html);
    }),
  );
}

async function startChirp(kind: "chirp-hello" | "chirp-template"): Promise<Started> {
  const { chirp, build } = await importChirp();
  const app = new chirp.App({ env: "production", templates: TEMPLATE_DIRECTORY });
  if (kind === "chirp-hello") {
    app.get("/", () => HELLO);
  } else {
    app.get("/", () => chirp.Template(PAGE_TEMPLATE, pageContext()));
  }
  return listenChirp(app, build);
}

/** Starts the baseline of the session scenarios: the session route's greeting without SessionMiddleware. */
async function startChirpWithoutSession(): Promise<Started> {
  const { chirp, build } = await importChirp();
  const app = new chirp.App({ env: "production" });
  app.get("/", () => `Hello ${SESSION_USER}`);
  return listenChirp(app, build);
}

/**
 * Starts a route that reads the session, with the data in the encrypted cookie
 * (`chirp-session-cookie`) or in a MemorySessionStore (`chirp-session-memory`).
 * `POST /login` stores the user and issues the session cookie that the load requests carry.
 */
async function startChirpSession(kind: "chirp-session-cookie" | "chirp-session-memory"): Promise<Started> {
  const { chirp, middleware, build } = await importChirp();
  if (typeof middleware.SessionMiddleware !== "function") {
    throw new Error(`The chirp ${build}/ in use has no SessionMiddleware: run npm run build to rebuild dist/`);
  }
  const app = new chirp.App({ env: "production" });
  app.addMiddleware(
    new middleware.SessionMiddleware({
      secretKey: SESSION_SECRET_KEY,
      // The benchmark runs over plain HTTP on 127.0.0.1, so the cookie cannot be Secure.
      secure: false,
      dangerouslyAllowInsecureCookies: true,
      ...(kind === "chirp-session-memory" ? { store: new middleware.MemorySessionStore() } : {}),
    }),
  );
  app.get("/", (req) => `Hello ${String(req.session.get("user") ?? "anonymous")}`);
  app.post("/login", (req) => {
    req.session.regenerate();
    req.session.set("user", SESSION_USER);
    return "Logged in";
  });
  return listenChirp(app, build);
}

/**
 * Starts an app of the rate limit scenarios, where `GET /` returns "Hello" and `POST /login`
 * returns "ok". The memory and Redis kinds add AuthRateLimitMiddleware for `POST /login`,
 * keyed by the client address (the default), with `settings.requests` per window. The
 * failure mode is "closed", so a failing Redis answers 503, which stops the run, instead of
 * letting requests through uncounted.
 */
async function startChirpRateLimit(kind: RateLimitKind, settings: RateLimitSettings): Promise<Started> {
  const { chirp, middleware, build } = await importChirp();
  const app = new chirp.App({ env: "production" });
  let memoryBackend: ChirpMiddleware.MemoryRateLimitBackend | null = null;
  let redis: Redis | null = null;

  if (kind !== "chirp-no-rate-limit" && kind !== "chirp-no-rate-limit-login") {
    if (typeof middleware.AuthRateLimitMiddleware !== "function") {
      throw new Error(`The chirp ${build}/ in use has no AuthRateLimitMiddleware: run npm run build to rebuild dist/`);
    }
    let backend: RateLimitBackend;
    if (REDIS_KINDS.includes(kind)) {
      const { redisPort, redisKeyPrefix } = settings;
      if (redisPort === undefined || redisKeyPrefix === undefined) {
        throw new Error(`${kind} needs redisPort and redisKeyPrefix in its settings, got ${JSON.stringify(settings)}`);
      }
      redis = await connectRedis(redisPort);
      backend = middleware.redisRateLimitBackend(redis, { keyPrefix: redisKeyPrefix });
    } else {
      memoryBackend = new middleware.MemoryRateLimitBackend();
      backend = memoryBackend;
    }
    app.addMiddleware(
      new middleware.AuthRateLimitMiddleware({
        requests: settings.requests,
        methods: ["POST"],
        paths: ["/login"],
        backend,
        failureMode: "closed",
      }),
    );
  }
  app.get("/", () => HELLO);
  app.post("/login", () => LOGIN_BODY);

  const started = await listenChirp(app, build);
  return {
    ...started,
    async close() {
      await started.close();
      await redis?.quit();
    },
    ...(memoryBackend === null ? {} : { rateLimitKeys: () => memoryBackend.size }),
  };
}

/**
 * Connects to the harness's redis-server with the client options that docs/rate-limits.md
 * recommends, so a Redis failure surfaces as an error instead of a queued command. Imported
 * here, so the other children do not load ioredis.
 */
async function connectRedis(port: number): Promise<Redis> {
  const { Redis: RedisClient } = await import("ioredis");
  const redis = new RedisClient({
    host: HOST,
    port,
    lazyConnect: true,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
  });
  await redis.connect();
  return redis;
}

async function listenChirp(app: Chirp.App, build: ChirpBuild): Promise<Started> {
  const server = await app.listen({ port: 0, host: HOST });
  return { port: (server.address() as AddressInfo).port, build, close: () => app.close() };
}

function start(kind: ServerKind, settings: RateLimitSettings): Promise<Started> {
  switch (kind) {
    case "bare-hello":
      return startBareHello();
    case "bare-template":
      return startBareTemplate();
    case "chirp-hello":
    case "chirp-template":
      return startChirp(kind);
    case "chirp-no-session":
      return startChirpWithoutSession();
    case "chirp-session-cookie":
    case "chirp-session-memory":
      return startChirpSession(kind);
    case "chirp-no-rate-limit":
    case "chirp-rate-limit-memory":
    case "chirp-rate-limit-redis":
    case "chirp-no-rate-limit-login":
    case "chirp-rate-limit-memory-login":
    case "chirp-rate-limit-redis-login":
      return startChirpRateLimit(kind, settings);
  }
}

/** Reads the rate limit settings from the second argument, a JSON object that the harness writes. */
function readSettings(argument: string | undefined): RateLimitSettings {
  if (argument === undefined) return { requests: UNREACHABLE_LIMIT };
  return JSON.parse(argument) as RateLimitSettings;
}

async function main(): Promise<void> {
  const kind = process.argv[2];
  if (!isServerKind(kind))
    throw new Error(`Invalid server kind ${JSON.stringify(kind)}: expected one of ${SERVER_KINDS.join(", ")}`);
  requireParent("bench/child.ts");
  serveParent(await start(kind, readSettings(process.argv[3])));
}

main().catch(reportStartFailure);

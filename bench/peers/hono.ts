/*
 * Hono's stack of the peer comparison on @hono/node-server: its secureHeaders middleware with
 * the Content-Security-Policy that bengal-chirp sends (Hono sends none by default), its csrf
 * middleware, and a session kept as JSON in a cookie signed with Hono's signed-cookie helper.
 * Hono ships no session or rate limit middleware, so the session is those few lines below and
 * the limit on `POST /login` is hono-rate-limiter with its memory store.
 *
 * Hono's csrf middleware checks the Origin and Sec-Fetch-Site headers only, so this stack
 * renders no CSRF token and checks none. Its session cookie is signed, not encrypted.
 */
import type { Server } from "node:http";
import { serve } from "@hono/node-server";
import { getConnInfo } from "@hono/node-server/conninfo";
import { verify } from "@node-rs/argon2";
import { Hono, type Context } from "hono";
import { getSignedCookie, setSignedCookie } from "hono/cookie";
import { csrf } from "hono/csrf";
import { secureHeaders } from "hono/secure-headers";
import { rateLimiter } from "hono-rate-limiter";
import {
  BENCH_SECRET,
  LOGIN_FAILED,
  LOGIN_WINDOW_SECONDS,
  SESSION_COOKIE,
  USERS_BY_EMAIL,
  USERS_BY_ID,
  accountContext,
  createTemplates,
  loginContext,
  savedContext,
  validTitle,
  type NotesSessionData,
  type PeerApp,
  type PeerSettings,
} from "./spec.js";
import type { StartedPeer } from "./started.js";

interface SessionData extends NotesSessionData {
  userId?: string;
}

const COOKIE_OPTIONS = { path: "/", httpOnly: true, sameSite: "Lax", secure: false } as const;

async function readSession(c: Context): Promise<SessionData> {
  const value = await getSignedCookie(c, BENCH_SECRET, SESSION_COOKIE);
  if (typeof value !== "string") return {};
  try {
    const data = JSON.parse(value) as SessionData | null;
    return typeof data === "object" && data !== null ? data : {};
  } catch {
    return {};
  }
}

function writeSession(c: Context, data: SessionData): Promise<void> {
  return setSignedCookie(c, SESSION_COOKIE, JSON.stringify(data), BENCH_SECRET, COOKIE_OPTIONS);
}

function buildHardenedApp(settings: PeerSettings): Hono {
  const templates = createTemplates();
  const app = new Hono();
  app.use(
    secureHeaders({
      contentSecurityPolicy: {
        defaultSrc: ["'self'"],
        baseUri: ["'self'"],
        formAction: ["'self'"],
        frameAncestors: ["'none'"],
        objectSrc: ["'none'"],
      },
    }),
  );
  app.use(csrf());

  const loginLimit = rateLimiter({
    windowMs: LOGIN_WINDOW_SECONDS * 1000,
    limit: settings.loginLimit,
    standardHeaders: "draft-7",
    keyGenerator: (c) => getConnInfo(c).remote.address ?? "",
  });

  app.get("/login", (c) => c.html(templates.render("login.html", loginContext(""))));

  app.post("/login", loginLimit, async (c) => {
    const form = await c.req.parseBody();
    const email = typeof form.email === "string" ? form.email : "";
    const password = typeof form.password === "string" ? form.password : "";
    const user = USERS_BY_EMAIL.get(email);
    if (user === undefined || !(await verify(settings.passwordHash, password))) {
      return c.html(templates.render("login.html", loginContext("", LOGIN_FAILED)), 400);
    }
    // A new cookie replaces the whole session, which is what regenerating means for a cookie session.
    await writeSession(c, { userId: user.id });
    return c.redirect("/account", 303);
  });

  app.get("/account", async (c) => {
    const user = USERS_BY_ID.get((await readSession(c)).userId ?? "");
    if (user === undefined) return c.redirect("/login", 303);
    return c.html(templates.render("account.html", accountContext(user, "")));
  });

  app.post("/notes", async (c) => {
    const session = await readSession(c);
    const user = USERS_BY_ID.get(session.userId ?? "");
    if (user === undefined) return c.redirect("/login", 303);
    const title = validTitle((await c.req.parseBody()).title);
    if (title === null) return c.html("Invalid title", 400);
    const count = (session.notes ?? 0) + 1;
    await writeSession(c, { ...session, notes: count, lastNote: title });
    return c.html(templates.render("saved.html", savedContext(user, title, count)));
  });
  return app;
}

export function startHono(app: PeerApp, settings: PeerSettings): Promise<StartedPeer> {
  let hono: Hono;
  if (app === "hello") {
    hono = new Hono();
    hono.get("/", (c) => c.html("Hello"));
  } else {
    hono = buildHardenedApp(settings);
  }
  return new Promise((resolve) => {
    const server = serve({ fetch: hono.fetch, port: 0, hostname: "127.0.0.1" }, (info) => {
      resolve({
        port: info.port,
        build: null,
        close: () =>
          new Promise((done) => {
            (server as Server).closeAllConnections();
            server.close(() => {
              done();
            });
          }),
      });
    });
  });
}

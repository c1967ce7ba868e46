/*
 * Express 5's stack of the peer comparison: helmet, express-session with its default
 * MemoryStore, cookie-parser, express.urlencoded, csrf-csrf's double-submit tokens bound to the session id,
 * and express-rate-limit on `POST /login`, each with its defaults apart from plain HTTP cookies.
 *
 * csrf-csrf binds a token to a session id, so a visitor needs a saved session before the login
 * form: hence `saveUninitialized: true`. Its cookie is named without the `__Host-` prefix,
 * which requires HTTPS.
 */
import { createServer } from "node:http";
import { verify } from "@node-rs/argon2";
import cookieParser from "cookie-parser";
import { doubleCsrf } from "csrf-csrf";
import express, { type NextFunction, type Request, type Response } from "express";
import { rateLimit } from "express-rate-limit";
import session from "express-session";
import helmet from "helmet";
import {
  BENCH_SECRET,
  CSRF_FIELD,
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
  type BenchUser,
  type NotesSessionData,
  type PeerApp,
  type PeerSettings,
} from "./spec.js";
import { listenNodeServer, type StartedPeer } from "./started.js";

declare module "express-session" {
  interface SessionData extends NotesSessionData {
    userId: string;
  }
}

type Form = Partial<Record<string, string>>;

function buildHardenedApp(settings: PeerSettings): express.Express {
  const templates = createTemplates();
  const app = express();
  const { doubleCsrfProtection, generateCsrfToken } = doubleCsrf({
    getSecret: () => BENCH_SECRET,
    getSessionIdentifier: (req) => req.session.id,
    cookieName: "csrf",
    cookieOptions: { secure: false, sameSite: "lax" },
    getCsrfTokenFromRequest: (req) => (req.body as Form | undefined)?.[CSRF_FIELD],
  });

  /** Returns the session's user, or null after redirecting to the login page. */
  function currentUser(req: Request, res: Response): BenchUser | null {
    const user = USERS_BY_ID.get(req.session.userId ?? "");
    if (user === undefined) res.redirect(303, "/login");
    return user ?? null;
  }

  app.use(helmet());
  // The login limit comes before the session and the body parser, as bengal-chirp's does, so a
  // rejected login costs neither. Under the limit, the request goes on to the routes below.
  app.post(
    "/login",
    rateLimit({
      windowMs: LOGIN_WINDOW_SECONDS * 1000,
      limit: settings.loginLimit,
      standardHeaders: "draft-8",
      legacyHeaders: false,
    }),
  );
  // csrf-csrf reads its cookie from req.cookies.
  app.use(cookieParser());
  app.use(
    session({
      secret: BENCH_SECRET,
      name: SESSION_COOKIE,
      resave: false,
      saveUninitialized: true,
      cookie: { httpOnly: true, sameSite: "lax", secure: false },
    }),
  );
  app.use(express.urlencoded({ extended: false, limit: "16kb" }));

  app.get("/login", (req, res) => {
    res.type("html").send(templates.render("login.html", loginContext(generateCsrfToken(req, res))));
  });

  app.post("/login", doubleCsrfProtection, async (req, res, next) => {
    const form = req.body as Form;
    const user = USERS_BY_EMAIL.get(form.email ?? "");
    if (user === undefined || !(await verify(settings.passwordHash, form.password ?? ""))) {
      res
        .status(400)
        .type("html")
        .send(templates.render("login.html", loginContext(generateCsrfToken(req, res), LOGIN_FAILED)));
      return;
    }
    req.session.regenerate((error) => {
      if (error !== undefined && error !== null) {
        next(error);
        return;
      }
      req.session.userId = user.id;
      res.redirect(303, "/account");
    });
  });

  app.get("/account", (req, res) => {
    const user = currentUser(req, res);
    if (user === null) return;
    res.type("html").send(templates.render("account.html", accountContext(user, generateCsrfToken(req, res))));
  });

  app.post("/notes", doubleCsrfProtection, (req, res) => {
    const user = currentUser(req, res);
    if (user === null) return;
    const title = validTitle((req.body as Form).title);
    if (title === null) {
      res.status(400).type("html").send("Invalid title");
      return;
    }
    const count = (req.session.notes ?? 0) + 1;
    req.session.notes = count;
    req.session.lastNote = title;
    res.type("html").send(templates.render("saved.html", savedContext(user, title, count)));
  });

  // Express's default error handler would send csrf-csrf's rejection with the right status
  // too, but with a stack trace outside production.
  // Express tells error handlers apart by their four parameters, so the unused `next` stays.
  // eslint-disable-next-line @typescript-eslint/no-unused-vars
  app.use((error: unknown, _req: Request, res: Response, _next: NextFunction) => {
    const status = (error as { statusCode?: number }).statusCode ?? 500;
    if (status >= 500) console.error(error);
    res
      .status(status)
      .type("html")
      .send(status === 403 ? "Forbidden" : "Internal error");
  });
  return app;
}

export function startExpress(app: PeerApp, settings: PeerSettings): Promise<StartedPeer> {
  let handler: express.Express;
  if (app === "hello") {
    handler = express();
    handler.get("/", (_req, res) => {
      res.type("html").send("Hello");
    });
  } else {
    handler = buildHardenedApp(settings);
  }
  return listenNodeServer(createServer(handler));
}

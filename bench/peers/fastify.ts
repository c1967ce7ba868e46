/*
 * Fastify 5's stack of the peer comparison: @fastify/helmet, @fastify/secure-session (a cookie
 * sealed with libsodium's secretbox), @fastify/csrf-protection with its secret in that session,
 * @fastify/formbody and @fastify/rate-limit on `POST /login`, each with its defaults apart
 * from plain HTTP cookies.
 */
import type { AddressInfo } from "node:net";
import csrfProtection from "@fastify/csrf-protection";
import formBody from "@fastify/formbody";
import helmet from "@fastify/helmet";
import rateLimit from "@fastify/rate-limit";
import secureSession from "@fastify/secure-session";
import { verify } from "@node-rs/argon2";
import Fastify, { type FastifyReply, type FastifyRequest } from "fastify";
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
  type BenchUser,
  type NotesSessionData,
  type PeerApp,
  type PeerSettings,
} from "./spec.js";
import type { StartedPeer } from "./started.js";

declare module "@fastify/secure-session" {
  interface SessionData extends NotesSessionData {
    userId: string;
  }
}

type Form = Partial<Record<string, string>>;

export async function startFastify(app: PeerApp, settings: PeerSettings): Promise<StartedPeer> {
  const server = Fastify({ logger: false });

  if (app === "hello") {
    server.get("/", (_request, reply) => {
      void reply.type("text/html; charset=utf-8");
      return "Hello";
    });
  } else {
    const templates = createTemplates();
    const html = (reply: FastifyReply, status: number, body: string): string => {
      void reply.code(status).type("text/html; charset=utf-8");
      return body;
    };
    /** Returns the session's user, or null after redirecting to the login page. */
    const currentUser = (request: FastifyRequest, reply: FastifyReply): BenchUser | null => {
      const user = USERS_BY_ID.get(request.session.get("userId") ?? "");
      if (user === undefined) void reply.redirect("/login", 303);
      return user ?? null;
    };

    await server.register(helmet);
    await server.register(secureSession, {
      key: Buffer.from(BENCH_SECRET).subarray(0, 32),
      cookieName: SESSION_COOKIE,
      cookie: { path: "/", httpOnly: true, sameSite: "lax", secure: false },
    });
    await server.register(csrfProtection, { sessionPlugin: "@fastify/secure-session" });
    await server.register(formBody, { bodyLimit: 16 * 1024 });
    await server.register(rateLimit, { global: false });

    server.get("/login", (_request, reply) =>
      html(reply, 200, templates.render("login.html", loginContext(reply.generateCsrf()))),
    );

    server.post(
      "/login",
      {
        config: { rateLimit: { max: settings.loginLimit, timeWindow: LOGIN_WINDOW_SECONDS * 1000 } },
        preHandler: server.csrfProtection.bind(server),
      },
      async (request, reply) => {
        const form = request.body as Form;
        const user = USERS_BY_EMAIL.get(form.email ?? "");
        if (user === undefined || !(await verify(settings.passwordHash, form.password ?? ""))) {
          return html(reply, 400, templates.render("login.html", loginContext(reply.generateCsrf(), LOGIN_FAILED)));
        }
        request.session.regenerate();
        request.session.set("userId", user.id);
        return reply.redirect("/account", 303);
      },
    );

    server.get("/account", async (request, reply) => {
      const user = currentUser(request, reply);
      if (user === null) return reply;
      return html(reply, 200, templates.render("account.html", accountContext(user, reply.generateCsrf())));
    });

    server.post("/notes", { preHandler: server.csrfProtection.bind(server) }, (request, reply) => {
      const user = currentUser(request, reply);
      if (user === null) return reply;
      const title = validTitle((request.body as Form).title);
      if (title === null) return html(reply, 400, "Invalid title");
      const count = (request.session.get("notes") ?? 0) + 1;
      request.session.set("notes", count);
      request.session.set("lastNote", title);
      return html(reply, 200, templates.render("saved.html", savedContext(user, title, count)));
    });
  }

  await server.listen({ port: 0, host: "127.0.0.1" });
  return { port: (server.server.address() as AddressInfo).port, build: null, close: () => server.close() };
}

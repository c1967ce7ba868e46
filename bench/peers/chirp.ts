/*
 * bengal-chirp's stack of the peer comparison: the middleware of the reference app with their
 * defaults, apart from plain HTTP cookies and the `_csrf` form field that every stack uses.
 * Sessions live in the default sealed cookie, like Fastify's secure-session and Hono's signed
 * cookie.
 */
import type { AddressInfo } from "node:net";
import { importChirp } from "../import-chirp.js";
import { TEMPLATE_DIRECTORY } from "../page.js";
import {
  BENCH_SECRET,
  CSRF_FIELD,
  LOGIN_FAILED,
  LOGIN_WINDOW_SECONDS,
  SESSION_COOKIE,
  USERS_BY_EMAIL,
  USERS_BY_ID,
  accountContext,
  loginContext,
  savedContext,
  validTitle,
  type BenchUser,
  type PeerApp,
  type PeerSettings,
} from "./spec.js";
import type { StartedPeer } from "./started.js";

export async function startChirp(app: PeerApp, settings: PeerSettings): Promise<StartedPeer> {
  const { chirp, middleware, security, build } = await importChirp();
  const server = new chirp.App({ env: "production", templates: TEMPLATE_DIRECTORY });

  if (app === "hello") {
    server.get("/", () => "Hello");
  } else {
    server.addMiddleware(new middleware.AllowedHostsMiddleware({ allowedHosts: ["127.0.0.1"] }));
    server.addMiddleware(
      new middleware.AuthRateLimitMiddleware({
        requests: settings.loginLimit,
        windowSeconds: LOGIN_WINDOW_SECONDS,
        // The default block of 5 minutes would end before the window does.
        blockSeconds: LOGIN_WINDOW_SECONDS,
        methods: ["POST"],
        paths: ["/login"],
      }),
    );
    server.addMiddleware(
      new middleware.SessionMiddleware({
        secretKey: BENCH_SECRET,
        cookieName: SESSION_COOKIE,
        // The benchmark runs over plain HTTP on 127.0.0.1, so the cookie cannot be Secure.
        secure: false,
        dangerouslyAllowInsecureCookies: true,
      }),
    );
    server.addMiddleware(new middleware.AuthMiddleware<BenchUser>({ loadUser: (id) => USERS_BY_ID.get(id) ?? null }));
    server.addMiddleware(new middleware.CSRFMiddleware({ fieldName: CSRF_FIELD }));
    server.addMiddleware(new middleware.SecurityHeadersMiddleware());

    server.get("/login", (req) => chirp.Template("login.html", loginContext(req.csrfToken)));

    server.post("/login", async (req) => {
      const form = await req.form();
      const result = await security.passwordLogin(req, {
        identifier: form.get("email") ?? "",
        password: form.get("password") ?? "",
        findUser: (email) => {
          const user = USERS_BY_EMAIL.get(email);
          return user === undefined ? null : { user, passwordHash: settings.passwordHash };
        },
      });
      if (!result.ok) {
        return chirp.Template("login.html", loginContext(req.csrfToken, LOGIN_FAILED), { status: 400 });
      }
      return chirp.Redirect("/account", 303);
    });

    server.get(
      "/account",
      security.loginRequired((req) =>
        chirp.Template("account.html", accountContext(req.user as BenchUser, req.csrfToken)),
      ),
    );

    server.post(
      "/notes",
      security.loginRequired(async (req) => {
        const title = validTitle((await req.form()).get("title"));
        if (title === null) return new chirp.Response("Invalid title", { status: 400 });
        const count = Number(req.session.get("notes") ?? 0) + 1;
        req.session.set("notes", count);
        req.session.set("lastNote", title);
        return chirp.Template("saved.html", savedContext(req.user as BenchUser, title, count));
      }),
    );
  }

  const listening = await server.listen({ port: 0, host: "127.0.0.1" });
  return { port: (listening.address() as AddressInfo).port, build, close: () => server.close() };
}

import { Redirect, Template } from "../../../src/index.js";
import type { App, Request } from "../../../src/index.js";
import { emitSecurityEvent, isSafeUrl, login, logout, safeRedirect } from "../../../src/security/index.js";
import { setFlash, takeFlash } from "../flash.js";
import type { UserStore } from "../users.js";

/** The one message for every failed login, so the page never reveals whether an email has an account. */
export const LOGIN_FAILED_MESSAGE = "Email or password is incorrect.";

/** The page that a login without a usable `next` redirects to. */
const AFTER_LOGIN = "/notes";

interface LoginForm {
  email?: string;
  next?: string | null;
  error?: string;
}

function loginPage(req: Request, form: LoginForm = {}, status = 200): Template {
  // Only a same-origin path goes back into the form. POST /login checks it again anyway,
  // because the form field can be changed.
  const next = isSafeUrl(form.next) ? form.next : "";
  return Template(
    "login.html",
    { email: form.email ?? "", next, error: form.error ?? "", flash: takeFlash(req) },
    { status },
  );
}

/** Adds `GET /login`, `POST /login` and `POST /logout`. */
export function addAuthRoutes(app: App, users: UserStore): void {
  app.get("/login", (req) => {
    const next = req.query.get("next");
    if (req.isAuthenticated) return safeRedirect(next, AFTER_LOGIN);
    return loginPage(req, { next });
  });

  app.post("/login", async (req) => {
    const form = await req.form();
    const email = form.get("email") ?? "";
    const password = form.get("password") ?? "";
    const next = form.get("next");

    // An empty field fails without hashing. That is faster, but the time does not depend on the account.
    const user = email.trim() === "" || password === "" ? null : await users.authenticate(email, password);
    if (user === null) {
      emitSecurityEvent("auth.login.failure", { req, details: { reason: "invalid_credentials" } });
      return loginPage(req, { email, next, error: LOGIN_FAILED_MESSAGE }, 400);
    }

    // login() moves the session to a new id, so a session id from before login never authenticates.
    login(req, user);
    setFlash(req, `You are logged in as ${user.name}.`);
    return safeRedirect(next, AFTER_LOGIN);
  });

  app.post("/logout", (req) => {
    logout(req);
    setFlash(req, "You have logged out.");
    return Redirect("/", 303);
  });
}

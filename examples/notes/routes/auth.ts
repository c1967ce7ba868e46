import { Redirect, Template } from "../../../src/index.js";
import type { App, Request } from "../../../src/index.js";
import {
  isSafeUrl,
  logout,
  passwordLogin,
  safeRedirect,
  type LoginLockout,
  type PasswordLoginResult,
} from "../../../src/security/index.js";
import { setFlash, takeFlash } from "../flash.js";
import type { NotesUser, UserStore } from "../users.js";

/** The one message for every failed login, so the page never reveals whether an email has an account. */
export const LOGIN_FAILED_MESSAGE = "Email or password is incorrect.";

/**
 * Returns the message of a failed login. A locked email adds how long to wait. That does not
 * reveal whether the email has an account, because unknown emails are counted and locked too.
 */
function loginFailedMessage(result: Exclude<PasswordLoginResult<NotesUser>, { ok: true }>): string {
  if (result.reason === "invalid") return LOGIN_FAILED_MESSAGE;
  return `${LOGIN_FAILED_MESSAGE} Try again in ${String(result.retryAfter)} seconds.`;
}

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

/**
 * Adds `GET /login`, `POST /login` and `POST /logout`. `lockout` counts failed logins per
 * email; the rate limit per client is AuthRateLimitMiddleware's job.
 */
export function addAuthRoutes(app: App, users: UserStore, lockout: LoginLockout): void {
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

    // passwordLogin checks the lockout, verifies the password (against a dummy hash of the same
    // cost when the email is unknown or locked), counts the outcome, emits the security event
    // and calls login(), which moves the session to a new id.
    const result = await passwordLogin(req, {
      identifier: email,
      password,
      findUser: (normalizedEmail) => users.findAccount(normalizedEmail),
      lockout,
      onRehash: (user, newHash) => {
        users.setPasswordHash(user.id, newHash);
      },
    });
    if (!result.ok) return loginPage(req, { email, next, error: loginFailedMessage(result) }, 400);

    setFlash(req, `You are logged in as ${result.user.name}.`);
    return safeRedirect(next, AFTER_LOGIN);
  });

  app.post("/logout", (req) => {
    logout(req);
    setFlash(req, "You have logged out.");
    return Redirect("/", 303);
  });
}

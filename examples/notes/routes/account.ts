import { Redirect, Template } from "../../../src/index.js";
import type { App, Request } from "../../../src/index.js";
import { hashPassword, login, loginRequired, verifyPassword, type LoginLockout } from "../../../src/security/index.js";
import { FORM_LIMITS, validateNewPassword, validateSignup } from "../account-forms.js";
import { setFlash, takeFlash } from "../flash.js";
import { currentUser, type UserStore } from "../users.js";

/**
 * Shown when the email of a signup has an account already. It reveals to anyone who tries an
 * address whether it has an account. A neutral answer ("check your email") would hide that,
 * but needs a confirmation mail for every signup, which this example leaves out. The per-client
 * rate limit on POST /signup slows down anyone who probes many addresses this way.
 */
export const EMAIL_TAKEN_MESSAGE = "An account with this email already exists. Log in or reset your password.";

/** Shown when the current password on the change-password form does not match. */
export const CURRENT_PASSWORD_MESSAGE = "The current password is incorrect.";

interface SignupForm {
  email?: string;
  name?: string;
  error?: string;
}

function signupPage(req: Request, form: SignupForm = {}, status = 200): Template {
  return Template(
    "signup.html",
    { email: form.email ?? "", name: form.name ?? "", error: form.error ?? "", ...FORM_LIMITS, flash: takeFlash(req) },
    { status },
  );
}

function passwordPage(req: Request, error = "", status = 200): Template {
  return Template("account_password.html", { error, ...FORM_LIMITS, flash: takeFlash(req) }, { status });
}

/** True for SQLite's error when an INSERT breaks the unique constraint on users.email. */
function isUniqueViolation(error: unknown): boolean {
  return error instanceof Error && "code" in error && error.code === "SQLITE_CONSTRAINT_UNIQUE";
}

/** Adds `GET/POST /signup` and the change-password form `GET/POST /account/password`. */
export function addAccountRoutes(app: App, users: UserStore, lockout: LoginLockout): void {
  app.get("/signup", (req) => {
    if (req.isAuthenticated) return Redirect("/notes", 303);
    return signupPage(req);
  });

  app.post("/signup", async (req) => {
    const form = await req.form();
    const email = form.get("email") ?? "";
    const name = form.get("name") ?? "";
    const result = validateSignup(form);
    if (!result.ok) return signupPage(req, { email, name, error: result.message }, result.status);

    // The lookup handles the usual case. The catch handles two signups for one email at once,
    // which both pass the lookup.
    if (users.findByEmail(result.email) !== null) {
      return signupPage(req, { email, name, error: EMAIL_TAKEN_MESSAGE }, 422);
    }
    let user;
    try {
      user = await users.create({ email: result.email, name: result.name, password: result.password });
    } catch (error) {
      if (!isUniqueViolation(error)) throw error;
      return signupPage(req, { email, name, error: EMAIL_TAKEN_MESSAGE }, 422);
    }

    login(req, user);
    setFlash(req, `Welcome, ${user.name}. Your account is ready.`);
    return Redirect("/notes", 303);
  });

  app.get(
    "/account/password",
    loginRequired((req) => passwordPage(req)),
  );

  app.post(
    "/account/password",
    loginRequired(async (req) => {
      const form = await req.form();
      const current = form.get("current");
      if (current === null) {
        return passwordPage(req, "The form has no current field. Send it as a field named current.", 400);
      }
      const newPassword = form.get("password") ?? "";
      const passwordError = validateNewPassword(form.get("password"), form.get("confirm"));
      if (passwordError !== null) return passwordPage(req, passwordError.message, passwordError.status);

      // Wrong current passwords count towards the login lockout of the account, so someone
      // holding a stolen session cannot guess the password here without limit.
      const user = currentUser(req);
      const status = await lockout.status(user.email);
      if (status.locked) {
        const wait = `Try again in ${String(status.retryAfterSeconds)} seconds.`;
        return passwordPage(req, `${CURRENT_PASSWORD_MESSAGE} ${wait}`, 422);
      }
      const stored = users.findStoredById(user.id);
      if (stored === null || !(await verifyPassword(current, stored.passwordHash))) {
        await lockout.recordFailure(user.email, req);
        return passwordPage(req, CURRENT_PASSWORD_MESSAGE, 422);
      }

      // The new session version ends every other session of the user at its next request.
      // login() stores the new version in this session, which stays logged in.
      const updated = users.changePassword(user.id, await hashPassword(newPassword));
      if (updated === null) throw new Error(`User ${user.id} disappeared while changing the password`);
      login(req, updated);
      setFlash(req, "Your password has been changed. Your other sessions have been logged out.");
      return Redirect("/dashboard", 303);
    }),
  );
}

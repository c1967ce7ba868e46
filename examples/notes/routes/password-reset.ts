import { Redirect, Template } from "../../../src/index.js";
import type { App, Request } from "../../../src/index.js";
import { hashPassword, type LoginLockout, type PasswordResetTokens } from "../../../src/security/index.js";
import { FORM_LIMITS, validateNewPassword } from "../account-forms.js";
import { setFlash, takeFlash } from "../flash.js";
import type { Outbox } from "../outbox.js";
import type { StoredUser, UserStore } from "../users.js";

/** Stores and services that `addPasswordResetRoutes` uses. */
export interface PasswordResetContext {
  readonly users: UserStore;
  readonly tokens: PasswordResetTokens<StoredUser>;
  readonly lockout: LoginLockout;
  readonly outbox: Outbox;
  /** Clock for the time stamps of outbox messages. */
  readonly now: () => Date;
}

/** How long a reset link works, in seconds. */
export const RESET_TOKEN_MAX_AGE_SECONDS = 3600;

function requestPage(req: Request, options: { sent?: boolean; error?: string } = {}, status = 200): Template {
  return Template(
    "password_reset.html",
    { sent: options.sent === true, error: options.error ?? "", ...FORM_LIMITS, flash: takeFlash(req) },
    { status },
  );
}

function confirmPage(req: Request, token: string, error = "", status = 200): Template {
  return Template(
    "password_reset_confirm.html",
    { invalid: false, token, error, ...FORM_LIMITS, flash: takeFlash(req) },
    { status },
  );
}

/** Renders the 400 page for a malformed, forged, expired or used token, without saying which. */
function invalidLinkPage(req: Request): Template {
  return Template("password_reset_confirm.html", { invalid: true, flash: takeFlash(req) }, { status: 400 });
}

/**
 * Adds `GET/POST /password-reset`, which mails a reset link, and `GET/POST
 * /password-reset/confirm`, where the link leads. The link is built from the app's
 * `publicOrigin`, never from the request's Host header, which a client chooses.
 */
export function addPasswordResetRoutes(app: App, context: PasswordResetContext): void {
  const { users, tokens, lockout, outbox, now } = context;

  function sendResetLink(req: Request, user: StoredUser): void {
    const token = tokens.createToken(user, req);
    const link = app.publicUrl(`/password-reset/confirm?token=${encodeURIComponent(token)}`);
    outbox.send({
      to: user.email,
      subject: "Reset your password",
      text:
        `Someone asked to reset the password of your notes account. Open this link within an hour ` +
        `to choose a new password:\n\n${link}\n\nIf it was not you, ignore this message.`,
      link,
      sentAt: now().toISOString(),
    });
    // The link lets anyone who reads it take over the account, so only development and test
    // logs, which stand in for the mail, contain it.
    if (app.env === "production") {
      app.logger.info({ userId: user.id }, "Password reset link queued in the outbox");
    } else {
      app.logger.info({ userId: user.id, to: user.email, link }, `Password reset link for ${user.email}: ${link}`);
    }
  }

  app.get("/password-reset", (req) => requestPage(req));

  app.post("/password-reset", async (req) => {
    const form = await req.form();
    const email = form.get("email");
    if (email === null) {
      return requestPage(req, { error: "The form has no email field. Send it as a field named email." }, 400);
    }

    // The page is the same whether or not the email has an account, so it cannot be used to
    // find out which emails have one.
    const user = email.trim() === "" ? null : users.findStoredByEmail(email);
    if (user !== null) sendResetLink(req, user);
    return requestPage(req, { sent: true });
  });

  app.get("/password-reset/confirm", async (req) => {
    const token = req.query.get("token") ?? "";
    const user = await tokens.verifyToken(token, (id) => users.findStoredById(id), req);
    if (user === null) return invalidLinkPage(req);
    return confirmPage(req, token);
  });

  app.post("/password-reset/confirm", async (req) => {
    const form = await req.form();
    const token = form.get("token") ?? "";
    const user = await tokens.verifyToken(token, (id) => users.findStoredById(id), req);
    if (user === null) return invalidLinkPage(req);

    const newPassword = form.get("password") ?? "";
    const passwordError = validateNewPassword(form.get("password"), form.get("confirm"));
    if (passwordError !== null) return confirmPage(req, token, passwordError.message, passwordError.status);

    // The new hash and session version end every session of the user and make the token
    // stop working, because it is bound to both.
    const updated = users.changePassword(user.id, await hashPassword(newPassword));
    if (updated === null) return invalidLinkPage(req);
    tokens.recordCompleted(req, user);
    // A person who can read the user's mail could log in anyway, so a lock from guessing ends here.
    await lockout.recordSuccess(user.email);

    setFlash(req, "Your password has been reset. Log in with the new password.");
    return Redirect("/login", 303);
  });

  // Anyone who can reach the server can read every reset link here, so it exists only in
  // development and test, where the server listens on this machine by default.
  if (app.env === "development" || app.env === "test") {
    app.get("/outbox", (req) => Template("outbox.html", { messages: outbox.messages(), flash: takeFlash(req) }));
  }
}

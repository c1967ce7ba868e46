import { MAX_PASSWORD_LENGTH } from "../../src/security/index.js";

/**
 * Minimum length of a new password, in UTF-16 code units as `minlength` counts them. Eight is
 * the minimum NIST SP 800-63B sets for passwords that people choose.
 */
export const MIN_PASSWORD_LENGTH = 8;

/** Maximum length of an email address: RFC 5321 allows 256 characters in a path, two of them angle brackets. */
export const MAX_EMAIL_LENGTH = 254;

/** Maximum length of a display name, in UTF-16 code units. */
export const MAX_NAME_LENGTH = 100;

/** The limits the account forms render into their `minlength` and `maxlength` attributes. */
export const FORM_LIMITS = {
  minPasswordLength: MIN_PASSWORD_LENGTH,
  maxPasswordLength: MAX_PASSWORD_LENGTH,
  maxEmailLength: MAX_EMAIL_LENGTH,
  maxNameLength: MAX_NAME_LENGTH,
} as const;

// One "@" with text on both sides and no whitespace. The real check is whether mail arrives.
const EMAIL = /^[^\s@]+@[^\s@]+$/;

/** A failed validation: 400 for a malformed request (a field missing), 422 for a mistake the form shows again. */
export interface FormError {
  readonly ok: false;
  readonly status: 400 | 422;
  readonly message: string;
}

/** The fields of a valid signup form. */
export interface SignupFields {
  readonly ok: true;
  readonly email: string;
  readonly name: string;
  readonly password: string;
}

function missing(field: string): FormError {
  return { ok: false, status: 400, message: `The form has no ${field} field. Send it as a field named ${field}.` };
}

function invalid(message: string): FormError {
  return { ok: false, status: 422, message };
}

/**
 * Validates a new password and its confirmation. The password is checked as typed, without
 * trimming, because spaces are allowed in passwords.
 */
export function validateNewPassword(password: string | null, confirm: string | null): FormError | null {
  if (password === null) return missing("password");
  if (confirm === null) return missing("confirm");
  if (password.length < MIN_PASSWORD_LENGTH) {
    return invalid(`The password is too short. Use at least ${String(MIN_PASSWORD_LENGTH)} characters.`);
  }
  if (password.length > MAX_PASSWORD_LENGTH) {
    return invalid(`The password is too long. Use at most ${String(MAX_PASSWORD_LENGTH)} characters.`);
  }
  if (password !== confirm) return invalid("The two passwords differ. Type the same password twice.");
  return null;
}

/** The part of a parsed form that validation reads, as `req.form()` returns it. */
export interface FormFields {
  get(name: string): string | null;
}

/** Validates the signup form: email, name, password and its confirmation. */
export function validateSignup(form: FormFields): SignupFields | FormError {
  const email = form.get("email");
  const name = form.get("name");
  if (email === null) return missing("email");
  if (name === null) return missing("name");

  const trimmedEmail = email.trim();
  if (trimmedEmail.length > MAX_EMAIL_LENGTH || !EMAIL.test(trimmedEmail)) {
    return invalid("The email address is invalid. Enter an address such as name@example.com.");
  }
  const trimmedName = name.trim();
  if (trimmedName === "") return invalid("The name is empty. Enter the name other people should see.");
  if (trimmedName.length > MAX_NAME_LENGTH) {
    return invalid(`The name is too long. Use at most ${String(MAX_NAME_LENGTH)} characters.`);
  }

  const passwordError = validateNewPassword(form.get("password"), form.get("confirm"));
  if (passwordError !== null) return passwordError;
  return { ok: true, email: trimmedEmail, name: trimmedName, password: form.get("password") ?? "" };
}

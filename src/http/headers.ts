import { InvalidHeaderError } from "../app/errors.js";

// RFC 9110 section 5.6.2: a field name is a token.
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
// RFC 9110 section 5.5: CR, LF and NUL never appear in a field value; other controls but HTAB are invalid too.
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const INVALID_VALUE_CHAR = /[\0-\x08\x0a-\x1f\x7f]/;

/** Throws {@link InvalidHeaderError} unless `name` is a valid header field name. */
export function assertHeaderName(name: string): void {
  if (!TOKEN.test(name)) {
    throw new InvalidHeaderError(`Invalid header name ${JSON.stringify(name)}: use letters, digits and -`);
  }
}

/**
 * Throws {@link InvalidHeaderError} when `value` contains CR, LF, NUL or another control
 * character, which would let a value split the response into extra headers or a body.
 */
export function assertHeaderValue(name: string, value: string): void {
  if (INVALID_VALUE_CHAR.test(value)) {
    throw new InvalidHeaderError(
      `Invalid value for header ${name}: control characters such as CR and LF are not allowed`,
    );
  }
}

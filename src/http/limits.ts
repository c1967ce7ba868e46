import { ConfigurationError } from "../app/errors.js";

/** Size and count limits on request bodies. Exceeding one gives 413. */
export interface BodyLimits {
  /** Maximum bytes of a JSON, text, raw or urlencoded body. Default 1 MiB. */
  bodyBytes: number;
  /** Maximum bytes of a whole multipart body, files included. Default 10 MiB. */
  multipartBytes: number;
  /** Maximum fields of a form, urlencoded or multipart. Default 1,000. */
  fields: number;
  /** Maximum bytes of one multipart text field. Default 1 MiB. */
  fieldBytes: number;
  /** Maximum files in a multipart body. Default 10. */
  files: number;
  /** Maximum bytes of one uploaded file. Default 5 MiB. */
  fileBytes: number;
  /** Maximum parts, fields and files together, in a multipart body. Default 1,010. */
  parts: number;
}

const MIB = 1024 * 1024;

export const DEFAULT_LIMITS: Readonly<BodyLimits> = Object.freeze({
  bodyBytes: MIB,
  multipartBytes: 10 * MIB,
  fields: 1000,
  fieldBytes: MIB,
  files: 10,
  fileBytes: 5 * MIB,
  parts: 1010,
});

/** Merges `limits` over the defaults, rejecting unknown keys and values that are not positive integers. */
export function resolveLimits(limits: Partial<BodyLimits> | undefined): Readonly<BodyLimits> {
  if (limits === undefined) return DEFAULT_LIMITS;
  const resolved: BodyLimits = { ...DEFAULT_LIMITS };
  for (const [key, value] of Object.entries(limits)) {
    if (!(key in DEFAULT_LIMITS)) {
      throw new ConfigurationError(
        `Unknown option limits.${key}. Known limits: ${Object.keys(DEFAULT_LIMITS).join(", ")}`,
      );
    }
    if (typeof value !== "number" || !Number.isSafeInteger(value) || value <= 0) {
      throw new ConfigurationError(`limits.${key} must be a positive integer, got ${String(value)}`);
    }
    resolved[key as keyof BodyLimits] = value;
  }
  return Object.freeze(resolved);
}

import { ConfigurationError } from "../../app/errors.js";

/** The default Content-Security-Policy: same-origin resources only, no plugins, no framing. */
export const DEFAULT_CSP =
  "default-src 'self'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'; object-src 'none'";

const NONCE_PLACEHOLDER = "\u0000nonce\u0000";
const DIRECTIVE_NAME = /^[a-z][a-z0-9-]*$/;

/** Parses a policy into directive names and their source lists, rejecting malformed input. */
export function parseCsp(policy: string, option: string): Map<string, string[]> {
  const directives = new Map<string, string[]>();
  const parts = policy.split(";").map((part) => part.trim());
  // A single trailing semicolon is common and harmless.
  if (parts.at(-1) === "") parts.pop();
  for (const part of parts) {
    if (part === "") {
      throw new ConfigurationError(
        `${option} has an empty directive (two semicolons in a row): ${JSON.stringify(policy)}`,
      );
    }
    const [name = "", ...sources] = part.split(/\s+/);
    const lower = name.toLowerCase();
    if (!DIRECTIVE_NAME.test(lower)) {
      throw new ConfigurationError(`${option} has an invalid directive name ${JSON.stringify(name)}`);
    }
    if (directives.has(lower)) {
      throw new ConfigurationError(`${option} sets ${lower} twice; browsers ignore the second, so merge them`);
    }
    directives.set(lower, sources);
  }
  if (directives.size === 0) throw new ConfigurationError(`${option} is empty: pass false to switch the header off`);
  return directives;
}

/**
 * Splits a policy into the text around per-response nonces: `'nonce-…'` is added to
 * `script-src` and `style-src`, which inherit the sources of `default-src` when the policy
 * does not set them, so adding a nonce never narrows what the policy allowed before.
 */
export function cspWithNonceParts(directives: Map<string, string[]>): string[] {
  const withNonce = new Map(directives);
  const defaults = directives.get("default-src") ?? [];
  for (const name of ["script-src", "style-src"]) {
    const sources = (directives.get(name) ?? defaults).filter((source) => source !== "'none'");
    withNonce.set(name, [...sources, `'nonce-${NONCE_PLACEHOLDER}'`]);
  }
  const text = [...withNonce].map(([name, sources]) => [name, ...sources].join(" ")).join("; ");
  return text.split(NONCE_PLACEHOLDER);
}

export function serialiseCsp(directives: Map<string, string[]>): string {
  return [...directives].map(([name, sources]) => [name, ...sources].join(" ")).join("; ");
}

import { ConfigurationError } from "./errors.js";

/** The environment the app runs in; production turns on the start-up security checks. */
export type Env = "development" | "test" | "production";

const ENVS: readonly string[] = ["development", "test", "production"];

/**
 * Resolves the environment from the `env` option, then `CHIRP_ENV`, then `NODE_ENV`, and
 * defaults to development. An unknown value is a configuration error rather than a silent
 * fallback, since falling back to development would switch off production checks.
 */
export function resolveEnv(option: string | undefined, environment: NodeJS.ProcessEnv = process.env): Env {
  const sources: [string, string | undefined][] = [
    ["the env option", option],
    ["CHIRP_ENV", environment.CHIRP_ENV],
    ["NODE_ENV", environment.NODE_ENV],
  ];
  for (const [source, value] of sources) {
    if (value === undefined || value === "") continue;
    if (ENVS.includes(value)) return value as Env;
    throw new ConfigurationError(
      `Invalid environment ${JSON.stringify(value)} from ${source}: use development, test or production` +
        (source === "NODE_ENV" ? " (or set CHIRP_ENV, which takes precedence over NODE_ENV)" : ""),
    );
  }
  return "development";
}

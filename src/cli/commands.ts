import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";

const USAGE = `Usage: chirp <command>

Commands:
  secret     Print a new random secret key (48 bytes, base64url) for CHIRP_SECRET_KEY
  version    Print the bengal-chirp version
  help       Print this help
`;

function version(): string {
  const manifest = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as {
    version: string;
  };
  return manifest.version;
}

/** Runs the `chirp` command and returns the exit code. */
export function main(args: readonly string[], write: (text: string) => void): number {
  const command = args[0];
  if (command === undefined) {
    write(USAGE);
    return 2;
  }
  switch (command) {
    case "secret":
      write(`${randomBytes(48).toString("base64url")}\n`);
      return 0;
    case "version":
    case "--version":
      write(`${version()}\n`);
      return 0;
    case "help":
    case "--help":
      write(USAGE);
      return 0;
    default:
      write(`Unknown command ${JSON.stringify(command)}.\n\n${USAGE}`);
      return 2;
  }
}

import { mkdtempSync, mkdirSync, writeFileSync } from "node:fs";
import { createServer, type RequestListener, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import type { Logger } from "../src/index.js";

export interface LogEntry {
  level: "error" | "warn" | "info";
  fields: Record<string, unknown>;
  message: string;
}

/** Returns a logger that records entries instead of printing them. */
export function captureLogger(): Logger & { entries: LogEntry[] } {
  const entries: LogEntry[] = [];
  return {
    entries,
    error(fields, message) {
      entries.push({ level: "error", fields, message });
    },
    warn(fields, message) {
      entries.push({ level: "warn", fields, message });
    },
    info(fields, message) {
      entries.push({ level: "info", fields, message });
    },
  };
}

/** Writes templates to a fresh temporary folder and returns its path. */
export function writeTemplates(files: Record<string, string>): string {
  const directory = mkdtempSync(join(tmpdir(), "chirp-templates-"));
  for (const [name, source] of Object.entries(files)) {
    const path = join(directory, name);
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, source);
  }
  return directory;
}

/** Runs `run` with the URL of a node:http server on 127.0.0.1 that serves `listener`, then stops it. */
export async function withLocalServer(listener: RequestListener, run: (url: string) => Promise<void>): Promise<void> {
  const server: Server = createServer(listener);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  try {
    await run(`http://127.0.0.1:${(server.address() as AddressInfo).port}/`);
  } finally {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
}

import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium, type BrowserContext } from "playwright-core";
import { REQUIRE_SERVICES } from "./services.js";

/** Debian's Chromium (`apt-get install chromium`). Tests never download a browser. */
export const CHROMIUM_PATH = "/usr/bin/chromium";

/**
 * Flags that keep Chromium from contacting anything on its own: no update checks, sync,
 * component downloads or first-run pages, so the only requests are the ones a test makes.
 */
const CHROMIUM_ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--no-first-run",
];

const LAUNCH_TIMEOUT_MS = 30_000;

/** Returns a skip reason when Chromium is missing, or false. Throws instead when services are required. */
export function chromiumSkipReason(): string | false {
  if (existsSync(CHROMIUM_PATH)) {
    const found = spawnSync(CHROMIUM_PATH, ["--version"], { encoding: "utf8", timeout: 10_000 });
    if (found.status === 0) return false;
  }
  const reason = "chromium is not installed (apt-get install chromium)";
  if (REQUIRE_SERVICES) throw new Error(`${reason}, and CHIRP_TEST_REQUIRE_SERVICES=1 requires it`);
  return reason;
}

/** A headless Chromium with its own profile. `close` stops it and deletes the profile. */
export interface TestBrowser {
  readonly context: BrowserContext;
  /** URLs the browser tried to load from anywhere but 127.0.0.1, all of them aborted. */
  readonly blockedUrls: readonly string[];
  close(): Promise<void>;
}

/**
 * Launches headless Chromium with a fresh temporary profile. Every request to a host other
 * than 127.0.0.1 is aborted and listed in `blockedUrls`, so a test can assert there were none.
 */
export async function launchChromium(): Promise<TestBrowser> {
  const profile = await mkdtemp(join(tmpdir(), "chirp-chromium-"));
  let context: BrowserContext;
  try {
    context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM_PATH,
      headless: true,
      args: CHROMIUM_ARGS,
      timeout: LAUNCH_TIMEOUT_MS,
    });
  } catch (error) {
    await rm(profile, { recursive: true, force: true });
    throw error;
  }

  const blockedUrls: string[] = [];
  await context.route("**/*", async (route) => {
    const url = new URL(route.request().url());
    if (url.protocol === "http:" && url.hostname === "127.0.0.1") {
      await route.continue();
      return;
    }
    blockedUrls.push(url.href);
    await route.abort("blockedbyclient");
  });

  return {
    context,
    blockedUrls,
    async close() {
      try {
        await context.close();
      } finally {
        await rm(profile, { recursive: true, force: true });
      }
    },
  };
}

import { existsSync } from "node:fs";
import type * as Chirp from "../src/index.js";
import type * as ChirpMiddleware from "../src/middleware/index.js";
import type * as ChirpSecurity from "../src/security/index.js";
import type { ChirpBuild } from "./protocol.js";

export interface ChirpModules {
  chirp: typeof Chirp;
  middleware: typeof ChirpMiddleware;
  security: typeof ChirpSecurity;
  build: ChirpBuild;
}

/**
 * Imports the built framework from `dist/` when it exists, else `src/` through tsx. Set
 * `BENCH_CHIRP=src` to force the sources. All entry points come from the same copy, because
 * the app checks middleware results with `instanceof Response`.
 */
export async function importChirp(): Promise<ChirpModules> {
  const dist = new URL("../dist/index.js", import.meta.url);
  if (process.env.BENCH_CHIRP !== "src" && existsSync(dist)) {
    const middleware = new URL("../dist/middleware/index.js", import.meta.url);
    const security = new URL("../dist/security/index.js", import.meta.url);
    return {
      chirp: (await import(dist.href)) as typeof Chirp,
      middleware: (await import(middleware.href)) as typeof ChirpMiddleware,
      security: (await import(security.href)) as typeof ChirpSecurity,
      build: "dist",
    };
  }
  return {
    chirp: await import("../src/index.js"),
    middleware: await import("../src/middleware/index.js"),
    security: await import("../src/security/index.js"),
    build: "src",
  };
}

/*
 * Entry point of one benchmark server process. The parent forks it with the server kind as
 * the only argument and an IPC channel, and this process replies with its port once it
 * listens on 127.0.0.1. It exits when the parent sends "stop" or goes away.
 */
import { existsSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import nunjucks from "nunjucks";
import type * as Chirp from "../src/index.js";
import { PAGE_TEMPLATE, TEMPLATE_DIRECTORY, pageContext } from "./page.js";
import {
  SERVER_KINDS,
  isServerKind,
  type ChildMessage,
  type ChirpBuild,
  type ParentMessage,
  type ServerKind,
} from "./protocol.js";

const HOST = "127.0.0.1";
const HELLO = "Hello";
const STOP_GRACE_MS = 2_000;
// The same headers chirp sends for a string result, so both servers put the same bytes on the wire.
const HELLO_HEADERS = {
  "content-type": "text/html; charset=utf-8",
  "content-length": String(Buffer.byteLength(HELLO)),
};

interface Started {
  port: number;
  build: ChirpBuild | null;
  close(): Promise<void>;
}

function send(message: ChildMessage): void {
  process.send?.(message);
}

/**
 * Imports the built framework from `dist/` when it exists, else `src/` through tsx. Set
 * `BENCH_CHIRP=src` to force the sources.
 */
async function importChirp(): Promise<{ chirp: typeof Chirp; build: ChirpBuild }> {
  const dist = new URL("../dist/index.js", import.meta.url);
  if (process.env.BENCH_CHIRP !== "src" && existsSync(dist)) {
    return { chirp: (await import(dist.href)) as typeof Chirp, build: "dist" };
  }
  return { chirp: await import("../src/index.js"), build: "src" };
}

function listenBare(server: Server): Promise<Started> {
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, HOST, () => {
      server.off("error", reject);
      resolve({
        port: (server.address() as AddressInfo).port,
        build: null,
        close: () =>
          new Promise((done) => {
            server.close(() => {
              done();
            });
          }),
      });
    });
  });
}

function startBareHello(): Promise<Started> {
  return listenBare(
    createServer(function answerHello(_req, res) {
      res.writeHead(200, HELLO_HEADERS);
      res.end(HELLO);
    }),
  );
}

function startBareTemplate(): Promise<Started> {
  // The options chirp's TemplateEngine sets, with the template cache on as in production.
  const environment = new nunjucks.Environment(new nunjucks.FileSystemLoader(TEMPLATE_DIRECTORY), {
    autoescape: true,
    throwOnUndefined: false,
    trimBlocks: true,
    lstripBlocks: true,
  });
  return listenBare(
    createServer(function renderPage(_req, res) {
      const html = environment.render(PAGE_TEMPLATE, pageContext());
      res.writeHead(200, {
        "content-type": "text/html; charset=utf-8",
        "content-length": String(Buffer.byteLength(html)),
      });
      res.end(html);
    }),
  );
}

async function startChirp(kind: "chirp-hello" | "chirp-template"): Promise<Started> {
  const { chirp, build } = await importChirp();
  const app = new chirp.App({ env: "production", templates: TEMPLATE_DIRECTORY });
  if (kind === "chirp-hello") {
    app.get("/", () => HELLO);
  } else {
    app.get("/", () => chirp.Template(PAGE_TEMPLATE, pageContext()));
  }
  const server = await app.listen({ port: 0, host: HOST });
  return { port: (server.address() as AddressInfo).port, build, close: () => app.close() };
}

function start(kind: ServerKind): Promise<Started> {
  switch (kind) {
    case "bare-hello":
      return startBareHello();
    case "bare-template":
      return startBareTemplate();
    case "chirp-hello":
    case "chirp-template":
      return startChirp(kind);
  }
}

function stats(): ChildMessage {
  const cpu = process.cpuUsage();
  return {
    type: "stats",
    stats: {
      rss: process.memoryUsage().rss,
      // maxRSS is in kilobytes, as getrusage(2) reports ru_maxrss on Linux.
      maxRss: process.resourceUsage().maxRSS * 1024,
      cpuMicros: cpu.user + cpu.system,
    },
  };
}

async function main(): Promise<void> {
  const kind = process.argv[2];
  if (!isServerKind(kind))
    throw new Error(`Invalid server kind ${JSON.stringify(kind)}: expected one of ${SERVER_KINDS.join(", ")}`);
  if (process.send === undefined) throw new Error("bench/child.ts must be started by the harness with an IPC channel");

  const started = await start(kind);
  let stopping = false;
  process.on("message", function handleParentMessage(message: ParentMessage) {
    if (message.type === "stats") {
      send(stats());
    } else if (!stopping) {
      stopping = true;
      // Exit through process.exit so that --cpu-prof writes its profile. The timer bounds the
      // wait for connections that a client keeps open.
      setTimeout(() => process.exit(0), STOP_GRACE_MS).unref();
      void started.close().finally(() => process.exit(0));
    }
  });
  // An orphaned server would keep running after a crashed parent: exit with it.
  process.on("disconnect", () => process.exit(0));
  send({ type: "listening", port: started.port, build: started.build });
}

main().catch((error: unknown) => {
  send({ type: "failed", message: error instanceof Error ? (error.stack ?? error.message) : String(error) });
  process.exitCode = 1;
  if (process.connected) process.disconnect();
});

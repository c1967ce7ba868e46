/*
 * Entry point of one peer server process. The parent forks it with an IPC channel and three
 * arguments: the stack (`bare`, `chirp`, `fastify`, `express` or `hono`), the app (`hello` or
 * `hardened`) and the settings as JSON. `../child-runtime.ts` reports its port to the parent
 * once it listens on 127.0.0.1, sends its stats on request and exits on "stop".
 */
import { reportStartFailure, requireParent, serveParent } from "../child-runtime.js";
import { PEERS, isPeer, type Peer, type PeerApp, type PeerSettings } from "./spec.js";
import type { StartedPeer } from "./started.js";

type Starter = (app: PeerApp, settings: PeerSettings) => Promise<StartedPeer>;

/**
 * Imports the one stack this child runs. Loading the others too would add their modules to
 * every child's memory, and in a trial run it also made the bare node:http server spend 93
 * instead of 56 µs of CPU per request.
 */
const STARTERS: Record<Peer, () => Promise<Starter>> = {
  bare: async () => (await import("./bare.js")).startBare,
  chirp: async () => (await import("./chirp.js")).startChirp,
  fastify: async () => (await import("./fastify.js")).startFastify,
  express: async () => (await import("./express.js")).startExpress,
  hono: async () => (await import("./hono.js")).startHono,
};

function readArguments(): { peer: Peer; app: PeerApp; settings: PeerSettings } {
  const [peer, app, settings] = process.argv.slice(2);
  if (!isPeer(peer)) throw new Error(`Invalid stack ${JSON.stringify(peer)}: expected one of ${PEERS.join(", ")}`);
  if (app !== "hello" && app !== "hardened") {
    throw new Error(`Invalid app ${JSON.stringify(app)}: expected "hello" or "hardened"`);
  }
  if (settings === undefined) throw new Error("Missing settings: pass them as JSON in the third argument");
  return { peer, app, settings: JSON.parse(settings) as PeerSettings };
}

async function main(): Promise<void> {
  requireParent("bench/peers/child.ts");
  const { peer, app, settings } = readArguments();
  const start = await STARTERS[peer]();
  serveParent(await start(app, settings));
}

main().catch(reportStartFailure);

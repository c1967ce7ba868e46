import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import type { ServedChild } from "../child-runtime.js";
import type { ChirpBuild } from "../protocol.js";

const HOST = "127.0.0.1";

/** A peer server listening on 127.0.0.1. Its build is null for every stack but bengal-chirp. */
export type StartedPeer = ServedChild;

/** Starts `server` on a free port of 127.0.0.1. */
export function listenNodeServer(server: Server, build: ChirpBuild | null = null): Promise<StartedPeer> {
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, HOST, () => {
      server.off("error", reject);
      resolve({
        port: (server.address() as AddressInfo).port,
        build,
        close: () =>
          new Promise((done) => {
            server.closeAllConnections();
            server.close(() => {
              done();
            });
          }),
      });
    });
  });
}

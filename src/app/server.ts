import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { TLSSocket } from "node:tls";
import { Readable, pipeline } from "node:stream";
import { mediaType } from "../http/body.js";
import type { BodyLimits } from "../http/limits.js";
import type { RawRequest } from "../http/request.js";
import type { Response } from "../http/response.js";
import type { Logger } from "./logger.js";

/** The parts of an App the node:http adapter uses. */
interface Dispatcher {
  readonly logger: Logger;
  readonly limits: Readonly<BodyLimits>;
  dispatch(raw: RawRequest): Promise<Response>;
}

export type RequestListener = (req: IncomingMessage, res: ServerResponse) => void;

/** Options of `app.listen`. */
export interface ListenOptions {
  /** Default 8000; 0 picks a free port. */
  port?: number;
  /** Default `"127.0.0.1"`, reachable from this machine only. */
  host?: string;
}

/** Writes a response to node:http. HEAD responses keep their headers, Content-Length included, and drop the body. */
export function writeResponse(res: ServerResponse, response: Response, isHead: boolean, logger: Logger): void {
  const headers: string[] = [];
  for (const name in response.headers) headers.push(name, response.headers[name] as string);
  for (const cookie of response.cookies) headers.push("set-cookie", cookie);

  const body = response.body;
  if (body instanceof Readable) {
    res.writeHead(response.status, headers);
    if (isHead) {
      body.destroy();
      res.end();
      return;
    }
    pipeline(body, res, function reportStreamError(error) {
      if (error) logger.error({ err: error }, "Streaming the response body failed");
    });
    return;
  }

  if (body !== null && response.headers["content-length"] === undefined) {
    headers.push("content-length", String(typeof body === "string" ? Buffer.byteLength(body) : body.byteLength));
  } else if (
    body === null &&
    response.status !== 204 &&
    response.status !== 304 &&
    response.headers["content-length"] === undefined
  ) {
    headers.push("content-length", "0");
  }
  res.writeHead(response.status, headers);
  if (isHead || body === null) res.end();
  else res.end(body);
}

/** Creates the node:http request listener that feeds requests to `app`. */
export function createRequestListener(app: Dispatcher): RequestListener {
  return function handleNodeRequest(req, res) {
    const raw: RawRequest = {
      method: req.method ?? "GET",
      url: req.url ?? "/",
      headers: req.headers,
      body: req,
      remoteAddress: req.socket.remoteAddress,
      encrypted: (req.socket as Partial<TLSSocket>).encrypted === true,
    };
    app.dispatch(raw).then(
      (response) => {
        writeResponse(res, response, raw.method === "HEAD", app.logger);
      },
      (error: unknown) => {
        // dispatch() turns errors into responses, so this only runs if writing itself failed.
        app.logger.error({ err: error, method: raw.method }, "Sending the response failed");
        if (!res.headersSent) res.writeHead(500, { "content-type": "text/plain; charset=utf-8" });
        res.end();
      },
    );
  };
}

/** Starts a node:http server for `app` and resolves once it listens. */
export function listen(app: Dispatcher, options: ListenOptions): Promise<Server> {
  const listener = createRequestListener(app);
  const server = createServer(listener);
  // With "Expect: 100-continue" the client waits before sending the body. Node would send
  // 100 Continue on its own; instead, a body already declared too large gets no invitation,
  // and the handler's body reader responds with 413 before the client uploads it.
  server.on("checkContinue", function answerExpectContinue(req, res) {
    const limit =
      mediaType(req.headers["content-type"]) === "multipart/form-data"
        ? app.limits.multipartBytes
        : app.limits.bodyBytes;
    const declared = Number(req.headers["content-length"]);
    if (!(declared > limit)) res.writeContinue();
    listener(req, res);
  });
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port ?? 8000, options.host ?? "127.0.0.1", () => {
      server.off("error", reject);
      resolve(server);
    });
  });
}

/**
 * Closes a server gracefully: it stops accepting connections, closes keep-alive connections
 * as soon as they are idle, lets in-flight requests finish, and after `timeoutMs` closes
 * whatever is left.
 */
export function closeServer(server: Server, timeoutMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const deadline = setTimeout(() => {
      server.closeAllConnections();
    }, timeoutMs);
    // A connection that finishes its last request during shutdown would otherwise stay open
    // until its keep-alive timeout. The sweep closes it within a few milliseconds of going idle.
    const sweep = setInterval(() => {
      server.closeIdleConnections();
    }, 20);
    deadline.unref();
    sweep.unref();
    server.close((error) => {
      clearTimeout(deadline);
      clearInterval(sweep);
      if (error) reject(error);
      else resolve();
    });
    server.closeIdleConnections();
  });
}

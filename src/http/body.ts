import type { Readable } from "node:stream";
import { HTTPError } from "../app/errors.js";

/**
 * Builds the 413 error. `Connection: close` makes Node close the socket after the response,
 * so an unread remainder of the body is never parsed as the next request.
 */
export function tooLarge(detail: string): HTTPError {
  return new HTTPError(413, detail, { headers: { connection: "close" } });
}

/** Returns the media type of a Content-Type header in lower case, without parameters. */
export function mediaType(contentType: string | undefined): string {
  if (contentType === undefined) return "";
  const semicolon = contentType.indexOf(";");
  return (semicolon === -1 ? contentType : contentType.slice(0, semicolon)).trim().toLowerCase();
}

/** Returns the charset parameter of a Content-Type header in lower case, or undefined. */
export function charset(contentType: string | undefined): string | undefined {
  const match = /;\s*charset\s*=\s*"?([^";\s]+)/i.exec(contentType ?? "");
  return match?.[1]?.toLowerCase();
}

/** Throws 415 unless the body declares no charset or UTF-8, the only one the readers decode. */
export function requireUtf8(contentType: string | undefined): void {
  const declared = charset(contentType);
  if (declared !== undefined && declared !== "utf-8" && declared !== "utf8" && declared !== "us-ascii") {
    throw new HTTPError(415, `Unsupported charset ${declared}: send the body as UTF-8`);
  }
}

/** Throws 413 when a declared Content-Length already exceeds `limit`, before reading a byte. */
export function checkContentLength(header: string | undefined, limit: number): void {
  if (header === undefined) return;
  // RFC 9110 section 8.6: one or more digits, nothing else.
  const length = /^\d{1,15}$/.test(header) ? Number(header) : Number.NaN;
  if (Number.isNaN(length)) throw new HTTPError(400, "Invalid Content-Length header");
  if (length > limit) throw tooLarge(`Request body is larger than ${String(limit)} bytes`);
}

/**
 * Reads a whole body into memory, stopping with 413 as soon as it passes `limit` bytes. After
 * that the rest of the stream is discarded, not buffered.
 */
export function readBody(stream: Readable | null, limit: number): Promise<Buffer> {
  if (stream === null) return Promise.resolve(Buffer.alloc(0));
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let received = 0;

    function cleanup(): void {
      stream?.off("data", onData);
      stream?.off("end", onEnd);
      stream?.off("error", onError);
    }
    function onData(chunk: Buffer): void {
      received += chunk.length;
      if (received > limit) {
        cleanup();
        stream?.resume();
        reject(tooLarge(`Request body is larger than ${String(limit)} bytes`));
        return;
      }
      chunks.push(chunk);
    }
    function onEnd(): void {
      cleanup();
      resolve(chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks, received));
    }
    function onError(error: Error): void {
      cleanup();
      reject(new HTTPError(400, "Request body could not be read", { cause: error }));
    }

    stream.on("data", onData);
    stream.on("end", onEnd);
    stream.on("error", onError);
  });
}

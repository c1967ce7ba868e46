import { Readable } from "node:stream";
import type { ReadableStream as WebReadableStream } from "node:stream/web";
import { Redirect } from "../http/redirect.js";
import type { Request } from "../http/request.js";
import { HTML_HEADERS, JSON_HEADERS, Response } from "../http/response.js";
import type { TemplateEngine } from "../templating/engine.js";
import { Fragment, Template } from "../templating/results.js";
import type { Result } from "./types.js";

function describe(value: unknown): string {
  if (value === null) return "null";
  if (typeof value === "object") {
    const constructor = (value as { constructor?: { name?: string } }).constructor;
    return `an instance of ${constructor?.name ?? "an unknown class"}`;
  }
  return typeof value;
}

function isPlainData(value: object): boolean {
  if (Array.isArray(value)) return true;
  const prototype = Object.getPrototypeOf(value) as unknown;
  return prototype === Object.prototype || prototype === null;
}

function withRenderHeaders(response: Response, headers: Readonly<Record<string, string>>): Response {
  return Object.keys(headers).length === 0 ? response : response.withHeaders(headers);
}

function fromWebResponse(result: globalThis.Response): Response {
  const headers: Record<string, string> = {};
  for (const [name, value] of result.headers) {
    if (name !== "set-cookie") headers[name] = value;
  }
  const body = result.body === null ? null : Readable.fromWeb(result.body as WebReadableStream<Uint8Array>);
  // The WHATWG Headers class has already rejected invalid names and values.
  return Response.trusted(result.status, headers, body, result.headers.getSetCookie());
}

/** Converts a handler's return value into a response. Throws TypeError for anything else. */
export function toResponse(value: Result, req: Request, templates: () => TemplateEngine): Response {
  // Handlers written in JavaScript can return anything, so the checks cover null and undefined too.
  const result = value as unknown;
  if (typeof result === "string") return Response.trusted(200, HTML_HEADERS, result);
  if (typeof result === "object" && result !== null) {
    if (result instanceof Response) return result;
    if (result instanceof Template) {
      const html = templates().render(result.name, result.context, req);
      return withRenderHeaders(Response.trusted(result.status, HTML_HEADERS, html), result.headers);
    }
    if (result instanceof Fragment) {
      const html = templates().renderBlock(result.name, result.block, result.context, req);
      return withRenderHeaders(Response.trusted(result.status, HTML_HEADERS, html), result.headers);
    }
    if (result instanceof Redirect) return Response.trusted(result.status, { location: result.url }, null);
    if (result instanceof globalThis.Response) return fromWebResponse(result);
    if (isPlainData(result)) return Response.trusted(200, JSON_HEADERS, JSON.stringify(result));
  }
  throw new TypeError(
    `Handler for ${req.method} ${req.route ?? req.path} returned ${describe(result)}; ` +
      "return a string, a plain object or array, Template, Fragment, Redirect or Response",
  );
}

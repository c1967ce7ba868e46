import Negotiator from "negotiator";
import type { Request } from "../http/request.js";
import { HTML_HEADERS, JSON_HEADERS, Response } from "../http/response.js";
import type { Env } from "./env.js";
import { ChirpError, HTTPError, statusText } from "./errors.js";
import type { Logger } from "./logger.js";

const OFFERED = ["text/html", "application/json"];

/** True when the client's Accept header prefers JSON over HTML; no Accept header means HTML. */
export function prefersJson(headers: Request["headers"]): boolean {
  if (headers.accept === undefined) return false;
  return new Negotiator({ headers }).mediaType(OFFERED) === "application/json";
}

/** Escapes `& < > " '` for use in HTML text and quoted attribute values. */
export function escapeHtml(text: string): string {
  return text
    .replaceAll("&", "&amp;")
    .replaceAll("<", "&lt;")
    .replaceAll(">", "&gt;")
    .replaceAll('"', "&quot;")
    .replaceAll("'", "&#39;");
}

function htmlPage(status: number, detail: string, stack: string | undefined): string {
  const title = `${String(status)} ${statusText(status)}`;
  const stackBlock = stack === undefined ? "" : `<pre>${escapeHtml(stack)}</pre>\n`;
  return (
    `<!doctype html>\n<html lang="en">\n<head><meta charset="utf-8"><title>${escapeHtml(title)}</title></head>\n` +
    `<body>\n<h1>${escapeHtml(title)}</h1>\n<p>${escapeHtml(detail)}</p>\n${stackBlock}</body>\n</html>\n`
  );
}

/**
 * Builds a generic error response: an HTML page for browsers, or `{ error, status, detail }`
 * JSON for clients that prefer JSON. Middleware that rejects a request uses it, so every
 * rejection looks the same; `detail` is shown to the client.
 */
export function errorPage(
  req: Request,
  status: number,
  detail: string,
  headers: Readonly<Record<string, string>> = {},
): Response {
  const json = prefersJson(req.headers);
  const body = json
    ? JSON.stringify({ error: statusText(status), status, detail })
    : htmlPage(status, detail, undefined);
  return Response.trusted(status, { ...(json ? JSON_HEADERS : HTML_HEADERS), ...headers }, body);
}

/**
 * Turns an error into an error page: HTML for browsers, JSON for clients that prefer it.
 * An HTTPError shows its detail; anything else is a generic 500, logged with its stack, and
 * the stack reaches the client only in development.
 */
export function errorResponse(error: unknown, req: Request, env: Env, logger: Logger): Response {
  let status = 500;
  let detail = statusText(500);
  let headers: Readonly<Record<string, string>> = {};
  if (error instanceof HTTPError) {
    status = error.status;
    detail = error.detail;
    headers = error.headers;
  } else if (error instanceof ChirpError && error.status < 500) {
    status = error.status;
    detail = statusText(status);
  }
  const internal = !(error instanceof HTTPError) || status >= 500;
  if (internal) {
    logger.error(
      { err: error, method: req.method, path: req.path, route: req.route },
      "Request failed with an unhandled error",
    );
  }
  const stack = internal && env === "development" && error instanceof Error ? error.stack : undefined;

  let response: Response;
  if (prefersJson(req.headers)) {
    const body: Record<string, unknown> = { error: statusText(status), status, detail };
    if (stack !== undefined) body.stack = stack;
    response = Response.trusted(status, JSON_HEADERS, JSON.stringify(body));
  } else {
    response = Response.trusted(status, HTML_HEADERS, htmlPage(status, detail, stack));
  }
  return Object.keys(headers).length === 0 ? response : response.withHeaders(headers);
}

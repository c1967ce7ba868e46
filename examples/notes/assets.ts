import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { Response } from "../../src/index.js";

/**
 * The browser script of the notes page. After htmx has added a note it clears the form, so
 * the same text is not added twice, and removes any earlier error message. A failed request,
 * such as a 422 for an empty note, keeps the text so the user can fix it.
 *
 * NOTE: this is served from a string because the repository's ESLint setup parses only
 * files of the TypeScript project, and a plain .js file under examples/ fails to parse
 * there. Move it to static/notes.js once the ESLint config lets browser scripts in.
 */
const NOTES_SCRIPT = `"use strict";
document.addEventListener("htmx:afterRequest", (event) => {
  const form = event.target;
  if (!(form instanceof HTMLFormElement) || !form.hasAttribute("data-reset-on-success")) return;
  if (!event.detail.successful) return;
  form.reset();
  form.querySelector("[data-form-error]")?.replaceChildren();
});
`;

// The URLs carry no version, so browsers revalidate after an hour instead of caching forever.
const CACHE_CONTROL = "public, max-age=3600";

function staticResponse(body: Buffer, contentType: string): Response {
  return new Response(body, { headers: { "content-type": contentType, "cache-control": CACHE_CONTROL } });
}

/**
 * Loads the static files of the app, by URL path, as ready responses. Files are read once,
 * here, so a missing file stops start-up instead of failing the first request. Responses
 * are immutable, so one instance serves every request.
 */
export function loadAssets(): ReadonlyMap<string, Response> {
  const require = createRequire(import.meta.url);
  const htmxPath = require.resolve("htmx.org/dist/htmx.min.js");
  const stylesheetUrl = new URL("./static/notes.css", import.meta.url);

  return new Map([
    ["/static/htmx.min.js", staticResponse(readFileSync(htmxPath), "text/javascript; charset=utf-8")],
    ["/static/notes.js", staticResponse(Buffer.from(NOTES_SCRIPT), "text/javascript; charset=utf-8")],
    ["/static/notes.css", staticResponse(readFileSync(stylesheetUrl), "text/css; charset=utf-8")],
  ]);
}

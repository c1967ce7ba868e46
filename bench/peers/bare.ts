/*
 * The ceiling of the peer comparison: node:http doing the work that every stack does (routing
 * by a string compare, reading the form, rendering the templates, verifying the password and
 * counting logins per client), with none of the security layer. It reads no session: every
 * page is rendered for the one user, with a fixed string in place of the CSRF token, and
 * static security headers.
 */
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import { verify } from "@node-rs/argon2";
import {
  CONTENT_SECURITY_POLICY,
  LOGIN_FAILED,
  LOGIN_WINDOW_SECONDS,
  SESSION_COOKIE,
  USER,
  USERS_BY_EMAIL,
  accountContext,
  createTemplates,
  loginContext,
  savedContext,
  validTitle,
  type PeerApp,
  type PeerSettings,
} from "./spec.js";
import { listenNodeServer, type StartedPeer } from "./started.js";

const HTML = "text/html; charset=utf-8";
const MAX_BODY_BYTES = 16 * 1024;

const SECURITY_HEADERS = {
  "content-security-policy": CONTENT_SECURITY_POLICY,
  "x-content-type-options": "nosniff",
  "x-frame-options": "DENY",
  "referrer-policy": "strict-origin-when-cross-origin",
};

function sendHtml(res: ServerResponse, status: number, html: string, extra: Record<string, string> = {}): void {
  res.writeHead(status, {
    ...SECURITY_HEADERS,
    ...extra,
    "content-type": HTML,
    "content-length": String(Buffer.byteLength(html)),
  });
  res.end(html);
}

/** Reads a url-encoded body of at most MAX_BODY_BYTES, or null when it is longer. */
async function readForm(req: IncomingMessage): Promise<URLSearchParams | null> {
  const chunks: Buffer[] = [];
  let length = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    length += chunk.length;
    if (length > MAX_BODY_BYTES) return null;
    chunks.push(chunk);
  }
  return new URLSearchParams(Buffer.concat(chunks).toString("utf8"));
}

export function startBare(app: PeerApp, settings: PeerSettings): Promise<StartedPeer> {
  if (app === "hello") {
    return listenNodeServer(
      createServer((_req, res) => {
        res.writeHead(200, { "content-type": HTML, "content-length": "5" });
        res.end("Hello");
      }),
    );
  }

  const templates = createTemplates();
  const logins = new Map<string, { count: number; resetAt: number }>();

  /** Counts a login attempt of the client and returns the seconds it must wait, or 0 within the limit. */
  function retryAfter(client: string): number {
    const now = Date.now();
    let entry = logins.get(client);
    if (entry === undefined || entry.resetAt <= now) {
      entry = { count: 0, resetAt: now + LOGIN_WINDOW_SECONDS * 1000 };
      logins.set(client, entry);
    }
    entry.count++;
    return entry.count > settings.loginLimit ? Math.ceil((entry.resetAt - now) / 1000) : 0;
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = req.url ?? "/";
    if (req.method === "GET" && path === "/account") {
      sendHtml(res, 200, templates.render("account.html", accountContext(USER, "none")));
    } else if (req.method === "GET" && path === "/login") {
      sendHtml(res, 200, templates.render("login.html", loginContext("none")));
    } else if (req.method === "POST" && path === "/login") {
      const wait = retryAfter(req.socket.remoteAddress ?? "");
      if (wait > 0) {
        sendHtml(res, 429, "Too many requests", { "retry-after": String(wait) });
        return;
      }
      const form = await readForm(req);
      const user = USERS_BY_EMAIL.get(form?.get("email") ?? "");
      const password = form?.get("password") ?? "";
      if (user === undefined || !(await verify(settings.passwordHash, password))) {
        sendHtml(res, 400, templates.render("login.html", loginContext("none", LOGIN_FAILED)));
        return;
      }
      res.writeHead(303, { ...SECURITY_HEADERS, location: "/account", "set-cookie": `${SESSION_COOKIE}=bare; Path=/` });
      res.end();
    } else if (req.method === "POST" && path === "/notes") {
      const form = await readForm(req);
      const title = validTitle(form?.get("title"));
      if (title === null) {
        sendHtml(res, 400, "Invalid title");
        return;
      }
      sendHtml(res, 200, templates.render("saved.html", savedContext(USER, title, 1)));
    } else {
      sendHtml(res, 404, "Not found");
    }
  }

  return listenNodeServer(
    createServer((req, res) => {
      handle(req, res).catch((error: unknown) => {
        res.destroy(error instanceof Error ? error : new Error(String(error)));
      });
    }),
  );
}

/*
 * The harness's side of the peer comparison: logging in as a browser would, and the checks
 * that every server must pass before and after its load, so that no stack wins by skipping
 * work. Every request goes to a server of the harness on 127.0.0.1.
 */
import { CSRF_FIELD, PASSWORD, USER, type Peer } from "./spec.js";

const REPLY_TIMEOUT_MS = 10_000;
const FORM = "application/x-www-form-urlencoded";

/** Stacks that render a CSRF token and reject a POST without it. Hono checks the origin only. */
const TOKEN_STACKS: readonly Peer[] = ["chirp", "fastify", "express"];

/** Stacks that reject a POST whose Origin is another site. */
const ORIGIN_STACKS: readonly Peer[] = ["chirp", "hono"];

/** The cookies a server set, by name, as a browser would send them back. */
export class CookieJar {
  readonly #cookies = new Map<string, string>();

  /** Stores the `name=value` pair of each Set-Cookie of `response`; an empty value deletes it. */
  store(response: globalThis.Response): void {
    for (const setCookie of response.headers.getSetCookie()) {
      const pair = setCookie.split(";", 1)[0] ?? "";
      const equals = pair.indexOf("=");
      if (equals <= 0) continue;
      const name = pair.slice(0, equals).trim();
      const value = pair.slice(equals + 1).trim();
      if (value === "") this.#cookies.delete(name);
      else this.#cookies.set(name, value);
    }
  }

  get(name: string): string | undefined {
    return this.#cookies.get(name);
  }

  set(name: string, value: string): void {
    this.#cookies.set(name, value);
  }

  /** Returns the Cookie header, empty without cookies. */
  header(): string {
    return [...this.#cookies].map(([name, value]) => `${name}=${value}`).join("; ");
  }

  copy(): CookieJar {
    const jar = new CookieJar();
    for (const [name, value] of this.#cookies) jar.set(name, value);
    return jar;
  }
}

/** A request from the harness. The origin is the server's own unless `origin` overrides it. */
interface RequestPlan {
  method?: "GET" | "POST";
  jar?: CookieJar;
  form?: Record<string, string>;
  origin?: string;
}

/** Sends a request without following redirects and stores the cookies it sets in the jar. */
export async function send(
  baseUrl: string,
  path: string,
  plan: RequestPlan = {},
): Promise<{ response: globalThis.Response; text: string }> {
  const url = new URL(path, baseUrl);
  const headers: Record<string, string> = {};
  const cookie = plan.jar?.header() ?? "";
  if (cookie !== "") headers.cookie = cookie;
  if (plan.form !== undefined) {
    headers["content-type"] = FORM;
    headers.origin = plan.origin ?? url.origin;
  }
  const response = await fetch(url, {
    method: plan.method ?? (plan.form === undefined ? "GET" : "POST"),
    headers,
    body: plan.form === undefined ? undefined : new URLSearchParams(plan.form).toString(),
    redirect: "manual",
    signal: AbortSignal.timeout(REPLY_TIMEOUT_MS),
  });
  const text = await response.text();
  plan.jar?.store(response);
  return { response, text };
}

/** Reads the CSRF token from the hidden field of a rendered form. */
export function csrfTokenOf(html: string): string | null {
  const match = new RegExp(`name="${CSRF_FIELD}" value="([^"]*)"`).exec(html);
  return match?.[1] ?? null;
}

/** A logged-in session: its cookies and the CSRF token of its forms. */
export interface LoggedIn {
  jar: CookieJar;
  token: string;
}

/** Opens the login form in a fresh jar and posts the credentials, as a browser would. */
export async function logIn(
  url: string,
  password = PASSWORD,
): Promise<{ jar: CookieJar; token: string; response: globalThis.Response }> {
  const jar = new CookieJar();
  const form = await send(url, "login", { jar });
  const token = csrfTokenOf(form.text) ?? "";
  const { response } = await send(url, "login", {
    jar,
    form: { [CSRF_FIELD]: token, email: USER.email, password },
  });
  return { jar, token, response };
}

/** Problems with the security headers of `response`, which every stack must send. */
function headerProblems(response: globalThis.Response): string[] {
  const problems: string[] = [];
  const csp = response.headers.get("content-security-policy") ?? "";
  if (!csp.includes("default-src")) problems.push(`content-security-policy is ${JSON.stringify(csp)}`);
  if (response.headers.get("x-content-type-options") !== "nosniff") problems.push("x-content-type-options is missing");
  if (response.headers.get("x-frame-options") === null && !csp.includes("frame-ancestors")) {
    problems.push("neither x-frame-options nor frame-ancestors is set");
  }
  if (response.headers.get("referrer-policy") === null) problems.push("referrer-policy is missing");
  return problems;
}

/** Problems with a page response: status 200, HTML, the security headers and the texts it must contain. */
function pageProblems(response: globalThis.Response, text: string, expected: readonly string[]): string[] {
  const problems = headerProblems(response);
  if (response.status !== 200) problems.push(`status is ${response.status}, expected 200`);
  const contentType = response.headers.get("content-type") ?? "";
  if (!contentType.startsWith("text/html")) problems.push(`content-type is ${JSON.stringify(contentType)}`);
  for (const part of expected) {
    if (!text.includes(part)) problems.push(`body lacks ${JSON.stringify(part)}`);
  }
  if (text.includes("<admin>")) problems.push("body contains the user name unescaped");
  return problems;
}

/** Text of the account page for {@link USER}, escaped. */
export const ACCOUNT_TEXTS: readonly string[] = [
  "<h1>Alice &lt;admin&gt;</h1>",
  `Signed in as ${USER.email}`,
  '<li id="item-10">&lt;script&gt;alert(1)&lt;/script&gt;: 14.25</li>',
];

/** Text of the response to `POST /notes` with the title {@link NOTE_TITLE}. */
export const SAVED_TEXT = "Saved Hello &lt;world&gt;, note";

export const NOTE_TITLE = "Hello <world>";

/** Problems with `GET /` of a hello app. */
export async function checkHello(url: string): Promise<string[]> {
  const { response, text } = await send(url, "");
  const problems: string[] = [];
  if (response.status !== 200) problems.push(`status is ${response.status}, expected 200`);
  if (!(response.headers.get("content-type") ?? "").startsWith("text/html")) problems.push("content-type is not HTML");
  if (text !== "Hello") problems.push(`body is ${JSON.stringify(text.slice(0, 80))}, expected "Hello"`);
  return problems;
}

/**
 * Returns the account page of a session and checks it. The cookies that the page sets go into
 * `jar`, or are dropped with `keepCookies: false`, as the load drops them.
 */
export async function checkAccountPage(
  peer: Peer,
  url: string,
  jar: CookieJar,
  keepCookies = false,
): Promise<{ problems: string[]; token: string }> {
  const { response, text } = await send(url, "account", { jar: keepCookies ? jar : jar.copy() });
  const problems = pageProblems(response, text, ACCOUNT_TEXTS);
  const token = csrfTokenOf(text);
  if (token === null) problems.push("the account page has no CSRF field");
  else if (TOKEN_STACKS.includes(peer) && token.length < 16)
    problems.push(`CSRF token ${JSON.stringify(token)} is too short`);
  return { problems, token: token ?? "" };
}

/** Posts a note with the session and token, and checks the response. */
export async function checkNotePost(url: string, session: LoggedIn): Promise<string[]> {
  const { response, text } = await send(url, "notes", {
    jar: session.jar.copy(),
    form: { [CSRF_FIELD]: session.token, title: NOTE_TITLE },
  });
  return pageProblems(response, text, [SAVED_TEXT]).map((problem) => `POST /notes: ${problem}`);
}

/**
 * Logs in, then checks the account page, a note post, and the attacks that the stack's
 * security layer must stop: no session, a tampered session cookie, a wrong password, a POST
 * without the CSRF token or from another origin. Bare node:http is the ceiling, which does
 * none of this, so it gets the first checks only. Returns the session for the load.
 */
export async function checkHardened(
  peer: Peer,
  url: string,
): Promise<{ problems: string[]; session: LoggedIn | null }> {
  const login = await logIn(url);
  const problems: string[] = [];
  if (login.response.status !== 303 || login.response.headers.get("location") !== "/account") {
    problems.push(
      `POST /login answered ${login.response.status} to ${String(login.response.headers.get("location"))}, expected 303 to /account`,
    );
    return { problems, session: null };
  }
  if (TOKEN_STACKS.includes(peer) && login.token.length < 16) problems.push("the login form has no CSRF token");

  // The first page may store a new CSRF secret in the session, as Fastify's does, and so set a new cookie.
  const page = await checkAccountPage(peer, url, login.jar, true);
  problems.push(...page.problems);
  const session: LoggedIn = { jar: login.jar, token: page.token };
  problems.push(...(await checkNotePost(url, session)));
  if (peer !== "bare") problems.push(...(await attackProblems(peer, url, session)));
  return { problems, session: problems.length === 0 ? session : null };
}

/** Replaces the middle character of a token or cookie value, as a tampering client would. */
function changeMiddle(value: string): string {
  const middle = Math.floor(value.length / 2);
  return value.slice(0, middle) + (value[middle] === "A" ? "B" : "A") + value.slice(middle + 1);
}

/** Problems where the stack let an attack through. */
async function attackProblems(peer: Peer, url: string, session: LoggedIn): Promise<string[]> {
  const problems: string[] = [];

  const anonymous = await send(url, "account");
  if (anonymous.response.status === 200) problems.push("GET /account without a session answered 200");

  const tampered = session.jar.copy();
  tampered.set("session", changeMiddle(tampered.get("session") ?? ""));
  const forged = await send(url, "account", { jar: tampered });
  if (forged.response.status === 200) problems.push("GET /account with a tampered session cookie answered 200");

  const wrong = await logIn(url, `${PASSWORD}!`);
  if (wrong.response.status !== 400) problems.push(`a wrong password answered ${wrong.response.status}, expected 400`);

  if (TOKEN_STACKS.includes(peer)) {
    const noToken = await send(url, "notes", { jar: session.jar.copy(), form: { title: NOTE_TITLE } });
    if (noToken.response.status !== 403)
      problems.push(`POST /notes without a token answered ${noToken.response.status}, expected 403`);
    const badToken = await send(url, "notes", {
      jar: session.jar.copy(),
      form: { [CSRF_FIELD]: changeMiddle(session.token), title: NOTE_TITLE },
    });
    if (badToken.response.status !== 403)
      problems.push(`POST /notes with a changed token answered ${badToken.response.status}, expected 403`);
  }
  if (ORIGIN_STACKS.includes(peer)) {
    const crossSite = await send(url, "notes", {
      jar: session.jar.copy(),
      form: { [CSRF_FIELD]: session.token, title: NOTE_TITLE },
      origin: "http://attacker.example",
    });
    if (crossSite.response.status !== 403)
      problems.push(`POST /notes from another origin answered ${crossSite.response.status}, expected 403`);
  }
  return problems;
}

/**
 * Sends logins with a wrong password until the rate limit returns 429, at most `limit + 1`
 * of them, and checks that it did. The load then repeats the login and must get 429 only.
 */
export async function exhaustLoginLimit(url: string, limit: number): Promise<string[]> {
  for (let attempt = 0; attempt <= limit; attempt++) {
    const { response } = await logIn(url, `${PASSWORD}!`);
    if (response.status === 429) return [];
    if (response.status !== 400)
      return [`login attempt ${attempt + 1} answered ${response.status}, expected 400 or 429`];
  }
  return [`${limit + 1} logins got no 429 from a limit of ${limit}`];
}

import assert from "node:assert/strict";
import { afterEach, test } from "node:test";
import { App, ConfigurationError, Template } from "../../src/index.js";
import {
  AuthMiddleware,
  MemorySessionStore,
  SessionMiddleware,
  type SessionStore,
} from "../../src/middleware/index.js";
import {
  login,
  loginRequired,
  logout,
  requires,
  setSecurityEventSink,
  type AuthUser,
  type SecurityEvent,
} from "../../src/security/index.js";
import type { Request } from "../../src/index.js";
import { TestClient, type TestResponse } from "../../src/testing/index.js";
import { captureLogger, writeTemplates } from "../helpers.js";

const SECRET = "auth-tests-secret-key-0123456789-abcdefghijklmnop";

interface User extends AuthUser {
  id: string;
  name: string;
  version: number;
  permissions: string[];
}

interface Note {
  id: string;
  owner: string;
  text: string;
}

const events: SecurityEvent[] = [];
afterEach(() => {
  setSecurityEventSink(null);
  events.length = 0;
});

function recordEvents(): void {
  setSecurityEventSink((event) => {
    events.push(event);
  });
}

function makeApp(options: { store?: SessionStore; excludePaths?: string[] } = {}) {
  const users = new Map<string, User>([
    ["u1", { id: "u1", name: "Alice", version: 1, permissions: ["editor"] }],
    ["u2", { id: "u2", name: "Bob", version: 1, permissions: ["admin", "editor"] }],
  ]);
  const tokens = new Map([["token-of-bob", "u2"]]);
  const notes = new Map<string, Note>([
    ["n1", { id: "n1", owner: "u1", text: "Alice's note" }],
    ["n2", { id: "n2", owner: "u2", text: "Bob's note" }],
  ]);
  const templates = writeTemplates({ "whoami.html": "[{{ current_user().id }}|{{ current_user().name }}]" });
  const app = new App({ env: "test", logger: captureLogger(), templates });
  app.addMiddleware(new SessionMiddleware({ secretKey: SECRET, ...(options.store ? { store: options.store } : {}) }));
  app.addMiddleware(
    new AuthMiddleware<User>({
      loadUser: (id) => users.get(id) ?? null,
      verifyToken: async (token) => {
        await Promise.resolve();
        const id = tokens.get(token);
        return id === undefined ? null : (users.get(id) ?? null);
      },
      sessionVersion: (user) => user.version,
      ...(options.excludePaths ? { excludePaths: options.excludePaths } : {}),
    }),
  );
  app.post("/login/:id", (req) => {
    const user = users.get(req.params.id ?? "");
    if (user === undefined) return { ok: false };
    login(req, user);
    return { ok: true };
  });
  app.post("/logout", (req) => {
    logout(req);
    return { ok: true };
  });
  app.get("/whoami", (req) => ({ id: req.user.id, authenticated: req.isAuthenticated, by: req.authenticatedBy }));
  app.get("/whoami.html", () => Template("whoami.html"));
  app.post("/remember", (req) => {
    req.session.set("theme", "dark");
    return { ok: true };
  });
  app.route(
    "/dashboard",
    { methods: ["GET", "POST"] },
    loginRequired((req) => `dashboard of ${req.user.id}`),
  );
  app.get(
    "/admin",
    requires("admin")((req) => `admin ${req.user.id}`),
  );
  app.get(
    "/both",
    requires("admin", "editor")(() => "both"),
  );
  const ownsNote = async (user: User, req: Request): Promise<boolean> => {
    await Promise.resolve();
    return notes.get(req.params.id ?? "")?.owner === user.id;
  };
  app.route(
    "/notes/:id",
    { methods: ["GET", "DELETE"] },
    requires<User>("editor", { policy: ownsNote })((req) => notes.get(req.params.id ?? "")?.text ?? "none"),
  );
  app.get("/static/app.css", (req) => ({ user: req.user.id }));
  return { app, users };
}

async function whoami(client: TestClient, headers: Record<string, string> = {}) {
  return (await client.get("/whoami", { headers })).json<{ id: string; authenticated: boolean; by: string | null }>();
}

function cookieValue(response: TestResponse): string | undefined {
  return response.cookies
    .find((cookie) => cookie.startsWith("chirp_session="))
    ?.split(";")[0]
    ?.slice("chirp_session=".length);
}

function withCookie(app: App, value: string): TestClient {
  const client = new TestClient(app);
  client.jar.store(`chirp_session=${value}; Path=/`, new URL("http://testserver/"));
  return client;
}

test("anonymous user by default", async () => {
  const { app } = makeApp();
  assert.deepEqual(await whoami(new TestClient(app)), { id: "", authenticated: false, by: null });
});

test("login and logout", async () => {
  recordEvents();
  const { app } = makeApp();
  const client = new TestClient(app);
  await client.post("/login/u1");
  assert.deepEqual(await whoami(client), { id: "u1", authenticated: true, by: "session" });
  await client.post("/logout");
  assert.deepEqual(await whoami(client), { id: "", authenticated: false, by: null });
  assert.deepEqual(
    events.map((event) => [event.name, event.userId]),
    [
      ["auth.login.success", "u1"],
      ["auth.logout.success", "u1"],
    ],
  );
});

test("pre-login session id never authenticates", async () => {
  for (const store of [undefined, new MemorySessionStore()]) {
    const { app } = makeApp(store ? { store } : {});
    const client = new TestClient(app);
    const planted = cookieValue(await client.post("/remember")) ?? "";
    const after = cookieValue(await client.post("/login/u1")) ?? "";
    assert.notEqual(after, planted);
    assert.equal((await whoami(withCookie(app, planted))).authenticated, false);
    assert.equal((await whoami(withCookie(app, after))).id, "u1");
  }
});

test("copied cookie stops working after logout", async () => {
  const { app } = makeApp({ store: new MemorySessionStore() });
  const client = new TestClient(app);
  const copied = cookieValue(await client.post("/login/u1")) ?? "";
  assert.equal((await whoami(withCookie(app, copied))).id, "u1");
  await client.post("/logout");
  assert.equal((await whoami(withCookie(app, copied))).authenticated, false);
});

test("session version revokes cookie sessions", async () => {
  recordEvents();
  const { app, users } = makeApp();
  const laptop = new TestClient(app);
  const phone = new TestClient(app);
  await laptop.post("/login/u1");
  const copied = cookieValue(await phone.post("/login/u1")) ?? "";
  assert.equal((await whoami(phone)).id, "u1");

  // A password change elsewhere bumps the version.
  users.get("u1")!.version = 2;
  assert.equal((await whoami(laptop)).authenticated, false);
  assert.equal((await whoami(phone)).authenticated, false);
  assert.equal((await whoami(withCookie(app, copied))).authenticated, false);
  assert.ok(events.some((event) => event.name === "auth.session.version_mismatch" && event.userId === "u1"));
});

test("deleted user becomes anonymous", async () => {
  const { app, users } = makeApp();
  const client = new TestClient(app);
  await client.post("/login/u1");
  users.delete("u1");
  assert.equal((await whoami(client)).authenticated, false);
});

test("bearer token wins over session", async () => {
  const { app } = makeApp();
  const client = new TestClient(app);
  await client.post("/login/u1");
  assert.deepEqual(await whoami(client, { authorization: "Bearer token-of-bob" }), {
    id: "u2",
    authenticated: true,
    by: "token",
  });
  assert.equal((await whoami(client, { authorization: "bearer token-of-bob" })).id, "u2");
  assert.equal((await whoami(client, { authorization: "BEARER   token-of-bob" })).id, "u2");
  assert.equal((await whoami(client)).id, "u1");
});

test("invalid bearer token is anonymous", async () => {
  recordEvents();
  const { app } = makeApp();
  const client = new TestClient(app);
  await client.post("/login/u1");
  // An explicit but wrong token does not fall back to the session.
  assert.equal((await whoami(client, { authorization: "Bearer forged" })).authenticated, false);
  assert.equal(events.at(-1)?.name, "auth.token.invalid");
  assert.doesNotMatch(JSON.stringify(events), /forged/);
  // Other schemes are not tokens.
  assert.equal((await whoami(client, { authorization: "Basic dTE6cGFzcw==" })).id, "u1");
});

test("current_user template global", async () => {
  const { app } = makeApp();
  const client = new TestClient(app);
  assert.equal((await client.get("/whoami.html")).text, "[|]");
  await client.post("/login/u2");
  assert.equal((await client.get("/whoami.html")).text, "[u2|Bob]");
});

test("excluded paths load no user", async () => {
  const { app } = makeApp({ excludePaths: ["/static/"] });
  const client = new TestClient(app);
  await client.post("/login/u1");
  assert.deepEqual((await client.get("/static/app.css")).json(), { user: "" });
  assert.equal((await whoami(client)).id, "u1");
});

test("loginRequired sends browsers to login", async () => {
  recordEvents();
  const { app } = makeApp();
  const response = await new TestClient(app).get("/dashboard?tab=a&b=%2F");
  assert.equal(response.status, 302);
  assert.equal(response.header("location"), "/login?next=%2Fdashboard%3Ftab%3Da%26b%3D%252F");
  assert.equal(events.at(-1)?.name, "auth.require.unauthenticated");
});

test("loginRequired gives htmx an HX-Redirect", async () => {
  const { app } = makeApp();
  const response = await new TestClient(app).get("/dashboard", {
    headers: { "hx-request": "true", "hx-current-url": "http://testserver/notes?page=2" },
  });
  assert.equal(response.status, 401);
  assert.equal(response.header("hx-redirect"), "/login?next=%2Fnotes%3Fpage%3D2");
  assert.equal(response.header("location"), undefined);

  const foreign = await new TestClient(app).get("/dashboard", {
    headers: { "hx-request": "true", "hx-current-url": "http://evil.example/phish" },
  });
  assert.equal(foreign.header("hx-redirect"), "/login?next=%2Fdashboard");
});

test("loginRequired gives API clients 401 JSON", async () => {
  const { app } = makeApp();
  const client = new TestClient(app);
  const variants: Record<string, string>[] = [{ accept: "application/json" }, { authorization: "Bearer forged" }];
  for (const headers of variants) {
    const response = await client.get("/dashboard", { headers });
    assert.equal(response.status, 401);
    assert.equal(response.header("www-authenticate"), "Bearer");
    assert.deepEqual(response.json(), { error: "Unauthorized", status: 401, detail: "Authentication required" });
  }
});

test("loginRequired lets users through", async () => {
  const { app } = makeApp();
  const client = new TestClient(app);
  await client.post("/login/u1");
  assert.equal((await client.get("/dashboard")).text, "dashboard of u1");
  assert.equal(
    (await client.get("/dashboard", { headers: { authorization: "Bearer token-of-bob" } })).text,
    "dashboard of u2",
  );
});

test("guards cover HEAD, OPTIONS and POST", async () => {
  const { app } = makeApp();
  const client = new TestClient(app);
  assert.equal((await client.head("/dashboard")).status, 302);
  assert.equal((await client.options("/dashboard")).status, 302);
  assert.equal((await client.post("/dashboard")).status, 302);
  assert.equal((await client.options("/admin", { headers: { accept: "application/json" } })).status, 401);
  await client.post("/login/u1");
  assert.equal((await client.options("/admin")).status, 403);
  const allowed = await client.options("/dashboard");
  assert.equal(allowed.status, 204);
  assert.equal(allowed.header("allow"), "GET, HEAD, POST, OPTIONS");
});

test("missing permission gives 403 that names nothing", async () => {
  recordEvents();
  const { app } = makeApp();
  const client = new TestClient(app);
  await client.post("/login/u1");
  for (const [path, accept] of [
    ["/admin", "text/html"],
    ["/admin", "application/json"],
    ["/both", "text/html"],
  ] as const) {
    const response = await client.get(path, { headers: { accept } });
    assert.equal(response.status, 403);
    assert.doesNotMatch(response.text, /admin|editor|permission|policy/i);
  }
  const denied = events.filter((event) => event.name === "authz.permission.denied");
  assert.equal(denied.length, 3);
  assert.deepEqual(denied.at(0)?.details, { required: ["admin"], missing: ["admin"] });
  assert.equal(denied.at(0)?.userId, "u1");
});

test("all listed permissions are required", async () => {
  const { app } = makeApp();
  const client = new TestClient(app);
  await client.post("/login/u2");
  assert.equal((await client.get("/admin")).text, "admin u2");
  assert.equal((await client.get("/both")).text, "both");
});

test("requires sends anonymous users to login", async () => {
  const { app } = makeApp();
  assert.equal((await new TestClient(app).get("/admin")).status, 302);
});

test("policy refuses another user's note", async () => {
  recordEvents();
  const { app } = makeApp();
  const alice = new TestClient(app);
  await alice.post("/login/u1");
  assert.equal((await alice.get("/notes/n1")).text, "Alice's note");
  const other = await alice.get("/notes/n2");
  assert.equal(other.status, 403);
  assert.doesNotMatch(other.text, /Bob|n2|owner|policy/);
  assert.equal((await alice.delete("/notes/n2")).status, 403);
  assert.equal((await alice.get("/notes/missing")).status, 403);
  const policyEvents = events.filter((event) => event.name === "authz.policy.denied");
  assert.equal(policyEvents.length, 3);
  assert.deepEqual(policyEvents[0]?.details, { policy: "ownsNote" });
});

test("sync policy and Set permissions", async () => {
  const app = new App({ env: "test", logger: captureLogger() });
  app.addMiddleware(new SessionMiddleware({ secretKey: SECRET }));
  const user = { id: "s1", permissions: new Set(["reports"]) };
  app.addMiddleware(new AuthMiddleware({ loadUser: () => user }));
  app.post("/login", (req) => {
    login(req, user);
    return "ok";
  });
  app.get(
    "/reports",
    requires("reports", { policy: (_u, req) => req.query.get("allow") === "yes" })(() => "reports"),
  );
  const client = new TestClient(app);
  await client.post("/login");
  assert.equal((await client.get("/reports?allow=yes")).text, "reports");
  assert.equal((await client.get("/reports?allow=no")).status, 403);
});

test("AuthMiddleware needs SessionMiddleware first", () => {
  const app = new App({ env: "test" });
  app.addMiddleware(new AuthMiddleware({ loadUser: () => null }));
  app.addMiddleware(new SessionMiddleware({ secretKey: SECRET }));
  assert.throws(() => app.ready(), /AuthMiddleware requires SessionMiddleware to run before it/);

  const tokensOnly = new App({ env: "test" });
  tokensOnly.addMiddleware(new AuthMiddleware({ verifyToken: () => null }));
  assert.doesNotThrow(() => tokensOnly.ready());
});

test("auth configuration mistakes", () => {
  assert.throws(() => new AuthMiddleware({}), ConfigurationError);
  assert.throws(() => new AuthMiddleware({ loadUser: () => null, loginUrl: "https://evil.example" }), /loginUrl/);
  assert.throws(
    () => new AuthMiddleware({ loadUser: () => null, excludePath: ["/x"] } as never),
    /Did you mean excludePaths/,
  );
  assert.throws(() => new AuthMiddleware({ verifyToken: () => null, sessionVersion: () => 1 }), /set loadUser too/);
});

test("login without AuthMiddleware names the fix", async () => {
  const app = new App({ env: "test", logger: captureLogger() });
  app.addMiddleware(new SessionMiddleware({ secretKey: SECRET }));
  let caught: unknown;
  app.post("/login", (req) => {
    try {
      login(req, { id: "x" });
    } catch (error) {
      caught = error;
    }
    return "done";
  });
  await new TestClient(app).post("/login");
  assert.match(String(caught), /login\(\) needs AuthMiddleware/);
});

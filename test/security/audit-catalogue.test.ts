import assert from "node:assert/strict";
import { PassThrough } from "node:stream";
import { afterEach, test } from "node:test";
import { App, Template } from "../../src/index.js";
import {
  AllowedHostsMiddleware,
  AuthMiddleware,
  AuthRateLimitMiddleware,
  CSRFMiddleware,
  MemorySessionStore,
  SessionMiddleware,
} from "../../src/middleware/index.js";
import {
  LoginLockout,
  PasswordResetTokens,
  SECURITY_EVENTS,
  SECURITY_EVENT_NAMES,
  SecurityEventCounters,
  SecurityEventMonitor,
  combineSinks,
  hashPassword,
  jsonLinesSink,
  logout,
  passwordLogin,
  pinoSink,
  requires,
  setSecurityEventSink,
  type SecurityAlert,
  type SecurityEvent,
} from "../../src/security/index.js";
import { resetSinkErrorLogForTests } from "../../src/security/audit.js";
import { TestClient } from "../../src/testing/index.js";
import { captureLogger, writeTemplates } from "../helpers.js";

const SECRET = "audit-tests-secret-key-0123456789-abcdefghijklmno";
const PASSWORD = "correct horse battery staple";

afterEach(() => {
  setSecurityEventSink(null);
  resetSinkErrorLogForTests();
});

interface User {
  id: string;
  email: string;
  passwordHash: string;
  version: number;
  permissions: string[];
}

async function fullApp() {
  const alice: User = {
    id: "u1",
    email: "alice@example.com",
    passwordHash: await hashPassword(PASSWORD),
    version: 1,
    permissions: [],
  };
  const lockout = new LoginLockout({ maxFailures: 2 });
  const reset = new PasswordResetTokens<User>({ secretKey: SECRET, userState: (user) => user.passwordHash });
  const templates = writeTemplates({ "form.html": "<form>{{ csrf_field() }}</form>" });
  const app = new App({ env: "test", templates, logger: captureLogger() });
  app.addMiddleware(new AllowedHostsMiddleware({ allowedHosts: ["testserver"] }));
  app.addMiddleware(
    new SessionMiddleware({
      secretKey: SECRET,
      store: new MemorySessionStore(),
      idleTimeoutSeconds: 60,
      clock: () => clock.now,
    }),
  );
  app.addMiddleware(
    new AuthMiddleware<User>({
      loadUser: (id) => (id === alice.id ? alice : null),
      verifyToken: (token) => (token === "valid-api-token" ? alice : null),
      sessionVersion: (user) => user.version,
    }),
  );
  app.addMiddleware(new AuthRateLimitMiddleware({ requests: 20, paths: ["/login"] }));
  app.addMiddleware(new CSRFMiddleware());
  app.get("/form", () => Template("form.html"));
  app.post("/login", async (req) => {
    const form = await req.form();
    const result = await passwordLogin(req, {
      identifier: form.get("email") ?? "",
      password: form.get("password") ?? "",
      findUser: (email) => (email === alice.email ? { user: alice, passwordHash: alice.passwordHash } : null),
      lockout,
    });
    return { ok: result.ok };
  });
  app.post("/logout", (req) => {
    logout(req);
    return "bye";
  });
  app.get(
    "/admin",
    requires("admin")(() => "admin"),
  );
  app.get(
    "/own",
    requires({
      policy: function ownsNothing() {
        return false;
      },
    })(() => "own"),
  );
  app.post("/reset", async (req) => {
    const token = reset.createToken(alice, req);
    await reset.verifyToken("bogus", (id) => (id === alice.id ? alice : null), req);
    const user = await reset.verifyToken(token, (id) => (id === alice.id ? alice : null), req);
    if (user !== null) reset.recordCompleted(req, user);
    return { token };
  });
  const clock = { now: Date.parse("2030-01-01T00:00:00Z") };
  return { app, alice, clock };
}

test("every catalogue event fires from real requests", async () => {
  const events: SecurityEvent[] = [];
  setSecurityEventSink((event) => {
    events.push(event);
  });
  const { app, alice, clock } = await fullApp();
  const client = new TestClient(app);
  const secrets: string[] = [PASSWORD, "wrong password", "valid-api-token", "forged-token"];

  let token = await client.csrfToken("/form");
  secrets.push(token);
  const login = (password: string, email = alice.email) =>
    client.post("/login", { form: { _csrf_token: token, email, password } });

  await login("wrong password", "nobody@example.com"); // auth.login.failure
  await login("wrong password"); // auth.login.failure
  await login("wrong password"); // auth.lockout.locked
  await login(PASSWORD); // locked: auth.login.failure

  // A fresh app for the success path, since alice is locked in the first one.
  const second = await fullApp();
  const secondClient = new TestClient(second.app);
  token = await secondClient.csrfToken("/form");
  secrets.push(token);
  await secondClient.post("/login", { form: { _csrf_token: token, email: alice.email, password: PASSWORD } }); // auth.login.success
  secrets.push(secondClient.cookie("chirp_session") ?? "no cookie");
  await secondClient.get("/admin"); // authz.permission.denied
  await secondClient.get("/own"); // authz.policy.denied
  token = await secondClient.csrfToken("/form");
  const reset = await secondClient.post("/reset", { form: { _csrf_token: token } }); // password.reset.*
  secrets.push(reset.json<{ token: string }>().token);
  second.alice.version += 1;
  await secondClient.get("/form"); // auth.session.version_mismatch
  second.alice.version -= 1;
  await secondClient.post("/login", {
    form: { _csrf_token: await secondClient.csrfToken("/form"), email: alice.email, password: PASSWORD },
  });
  await secondClient.post("/logout", { form: { _csrf_token: await secondClient.csrfToken("/form") } }); // auth.logout.success

  await client.get("/admin", { headers: { authorization: "Bearer forged-token" } }); // auth.token.invalid, auth.require.unauthenticated
  await client.post("/logout", { form: {} }); // csrf.reject.missing
  await client.post("/logout", { form: { _csrf_token: "A".repeat(86) } }); // csrf.reject.invalid
  await client.post("/logout", { form: {}, headers: { origin: "https://evil.example" } }); // csrf.reject.origin
  await client.get("/form", { headers: { host: "evil.example" } }); // host.reject
  const stale = new TestClient(app);
  stale.jar.store("chirp_session=" + "B".repeat(43) + "; Path=/", new URL("http://testserver/"));
  await stale.get("/form"); // session.invalid
  clock.now += 61_000;
  await client.get("/form"); // session.expired

  const rateLimited = await fullApp();
  const hammer = new TestClient(rateLimited.app);
  for (let attempt = 0; attempt < 21; attempt++) await hammer.post("/login"); // auth.rate_limit.blocked
  const unavailable = new App({ env: "test", logger: captureLogger() });
  unavailable.addMiddleware(new AuthRateLimitMiddleware({ backend: { hit: () => Promise.reject(new Error("down")) } }));
  unavailable.post("/login", () => "ok");
  await new TestClient(unavailable).post("/login"); // auth.rate_limit.unavailable

  const fired = new Set(events.map((event) => event.name));
  const missing = SECURITY_EVENT_NAMES.filter((name) => !fired.has(name));
  assert.deepEqual(missing, []);

  for (const event of events) {
    assert.ok(SECURITY_EVENTS[event.name], event.name);
    assert.ok(!Number.isNaN(Date.parse(event.timestamp)));
    assert.equal(typeof event.path, "string", event.name);
    assert.equal(typeof event.method, "string", event.name);
    assert.equal(event.ip, "127.0.0.1", event.name);
    assert.match(event.requestId ?? "", /^[0-9a-f-]{36}$/, event.name);
    const serialised = JSON.stringify(event);
    for (const secret of secrets) assert.ok(!serialised.includes(secret), `${event.name} contains a secret`);
  }
});

test("events of one request share a request id", async () => {
  const events: SecurityEvent[] = [];
  setSecurityEventSink((event) => {
    events.push(event);
  });
  const { app } = await fullApp();
  await new TestClient(app).get("/admin", { headers: { authorization: "Bearer forged-token" } });
  assert.deepEqual(
    events.map((event) => event.name),
    ["auth.token.invalid", "auth.require.unauthenticated"],
  );
  assert.equal(events[0]?.requestId, events[1]?.requestId);
});

test("throwing sink does not change the response", async () => {
  const { app } = await fullApp();
  const quiet = await new TestClient(app).get("/admin");
  setSecurityEventSink(() => {
    throw new Error("sink is down");
  });
  const noisy = await new TestClient(app).get("/admin");
  assert.equal(noisy.status, quiet.status);
  assert.equal(noisy.header("location"), quiet.header("location"));
});

test("sink errors are logged at a limited rate", async () => {
  const logger = captureLogger();
  const app = new App({ env: "test", logger });
  app.addMiddleware(new AllowedHostsMiddleware({ allowedHosts: ["example.com"] }));
  setSecurityEventSink(() => {
    throw new Error("sink is down");
  });
  const client = new TestClient(app);
  for (let attempt = 0; attempt < 20; attempt++) assert.equal((await client.get("/")).status, 400);
  assert.equal(logger.entries.length, 1);
});

test("JSON lines sink writes one event per line", async () => {
  const stream = new PassThrough();
  const chunks: string[] = [];
  stream.on("data", (chunk: Buffer) => chunks.push(chunk.toString()));
  setSecurityEventSink(jsonLinesSink(stream));
  const { app } = await fullApp();
  await new TestClient(app).get("/admin", { headers: { authorization: "Bearer forged-token" } });
  const lines = chunks.join("").trimEnd().split("\n");
  assert.equal(lines.length, 2);
  const first = JSON.parse(lines[0] ?? "") as Record<string, unknown>;
  assert.deepEqual(Object.keys(first), ["name", "timestamp", "path", "method", "ip", "userId", "requestId", "details"]);
  assert.equal(first.name, "auth.token.invalid");
});

test("pino sink and combined sinks", async () => {
  const warnings: [Record<string, unknown>, string][] = [];
  const counters = new SecurityEventCounters();
  setSecurityEventSink(
    combineSinks(
      () => {
        throw new Error("first sink fails");
      },
      pinoSink({ warn: (fields, message) => warnings.push([fields, message]) }),
      counters.record,
    ),
  );
  const { app } = await fullApp();
  await new TestClient(app).get("/admin");
  assert.equal(warnings.length, 1);
  assert.equal(warnings[0]?.[1], "auth.require.unauthenticated");
  assert.equal(counters.snapshot()["auth.require.unauthenticated"], 1);
});

test("counters render Prometheus text", () => {
  const counters = new SecurityEventCounters();
  const event = {
    name: "csrf.reject.origin",
    timestamp: "",
    path: null,
    method: null,
    ip: null,
    userId: null,
    requestId: null,
    details: {},
  } as const;
  counters.record(event);
  counters.record(event);
  const text = counters.prometheusText();
  assert.match(text, /^# HELP chirp_security_events_total /);
  assert.match(text, /# TYPE chirp_security_events_total counter/);
  assert.match(text, /chirp_security_events_total\{event="csrf.reject.origin"\} 2\n/);
  assert.match(text, /chirp_security_events_total\{event="host.reject"\} 0\n/);
});

test("monitor alerts once per spike and resets", () => {
  let now = 0;
  const alerts: SecurityAlert[] = [];
  const monitor = new SecurityEventMonitor({
    windowSeconds: 60,
    thresholds: { "csrf.reject.*": 3, "auth.token.invalid": 2 },
    onAlert: (alert) => alerts.push(alert),
    clock: () => now,
  });
  const event = (name: SecurityEvent["name"]): SecurityEvent => ({
    name,
    timestamp: "",
    path: null,
    method: null,
    ip: null,
    userId: null,
    requestId: null,
    details: {},
  });

  monitor.record(event("csrf.reject.missing"));
  monitor.record(event("csrf.reject.origin"));
  assert.equal(alerts.length, 0);
  monitor.record(event("csrf.reject.invalid"));
  assert.equal(alerts.length, 1);
  assert.deepEqual(
    { ...alerts[0], event: undefined },
    { pattern: "csrf.reject.*", count: 3, threshold: 3, windowSeconds: 60, event: undefined },
  );
  for (let extra = 0; extra < 10; extra++) monitor.record(event("csrf.reject.missing"));
  assert.equal(alerts.length, 1, "one alert per spike");

  now += 61_000;
  monitor.record(event("host.reject"));
  monitor.record(event("csrf.reject.missing"));
  monitor.record(event("csrf.reject.missing"));
  assert.equal(alerts.length, 1);
  monitor.record(event("csrf.reject.missing"));
  assert.equal(alerts.length, 2, "a new spike after the window emptied");

  monitor.record(event("auth.token.invalid"));
  monitor.record(event("auth.token.invalid"));
  assert.equal(alerts.at(-1)?.pattern, "auth.token.invalid");
});

test("monitor configuration mistakes", () => {
  const onAlert = (): void => undefined;
  assert.throws(() => new SecurityEventMonitor({ windowSeconds: 0, thresholds: {}, onAlert }), /windowSeconds/);
  assert.throws(
    () => new SecurityEventMonitor({ windowSeconds: 60, thresholds: { "csrf.rejected": 3 }, onAlert }),
    /unknown event/,
  );
  assert.throws(
    () => new SecurityEventMonitor({ windowSeconds: 60, thresholds: { "nothing.*": 3 }, onAlert }),
    /matches no event/,
  );
  assert.throws(
    () => new SecurityEventMonitor({ windowSeconds: 60, thresholds: { "host.reject": 0 }, onAlert }),
    /positive integer/,
  );
});

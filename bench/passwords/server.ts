// A server for the password benchmark, run as its own process: GET / returns a page, POST
// /login verifies a password against a stored hash, and GET /stats reports the event-loop
// delay measured since the last GET /stats/reset. Prints its port as JSON on stdout.
import { monitorEventLoopDelay } from "node:perf_hooks";
import { App } from "../../src/index.js";
import { hashPassword, verifyPassword } from "../../src/security/index.js";
import { setArgon2ModuleForTests } from "../../src/security/passwords.js";

if (process.env.BENCH_ALGORITHM === "scrypt") setArgon2ModuleForTests(null);
const stored = await hashPassword("correct horse battery staple");
const delay = monitorEventLoopDelay({ resolution: 10 });
delay.enable();

const app = new App({ env: "production", logger: { error() {}, warn() {}, info() {} } });
app.get("/", () => "<p>an ordinary page</p>");
app.post("/login", async () => ({ ok: await verifyPassword("wrong password", stored) }));
app.get("/stats", () => ({
  p50Ms: delay.percentile(50) / 1e6,
  p99Ms: delay.percentile(99) / 1e6,
  maxMs: delay.max / 1e6,
}));
app.get("/stats/reset", () => {
  delay.reset();
  return { ok: true };
});
const server = await app.listen({ port: 0, host: "127.0.0.1" });
const address = server.address();
process.stdout.write(
  `${JSON.stringify({ port: typeof address === "object" && address !== null ? address.port : 0 })}\n`,
);

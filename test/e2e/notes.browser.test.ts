import assert from "node:assert/strict";
import { mkdir } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { describe, test, type TestContext } from "node:test";
import { fileURLToPath } from "node:url";
import type { ConsoleMessage, Page } from "playwright-core";
import { createNotesApp, type NotesApp } from "../../examples/notes/app.js";
import { IN_MEMORY } from "../../examples/notes/database.js";
import { chromiumSkipReason, launchChromium, type TestBrowser } from "../browser.js";

// The notes app in headless Chromium: login, htmx create, edit and delete, a guarded page,
// logout, signup, a password reset through the outbox, and a cross-origin form post, all
// under the app's Content-Security-Policy.

const SECRET_KEY = "notes-browser-test-secret-key-that-is-long-enough-01";
const DEMO_PASSWORD = "correct horse battery staple";
const ALICE = "alice@example.com";
const ADMIN = "admin@example.com";
const SCREENSHOTS = fileURLToPath(new URL("../../test-results/", import.meta.url));
const ACTION_TIMEOUT_MS = 10_000;

const skip = chromiumSkipReason();

interface RunningApp {
  readonly notes: NotesApp;
  readonly origin: string;
}

/** Starts the notes app on 127.0.0.1 with a free port and an in-memory database. */
async function startApp(t: TestContext): Promise<RunningApp> {
  const notes = await createNotesApp({
    databasePath: IN_MEMORY,
    env: "test",
    secretKey: SECRET_KEY,
    demoPassword: DEMO_PASSWORD,
    allowedHosts: ["127.0.0.1"],
  });
  t.after(() => notes.close());
  const server = await notes.app.listen({ port: 0, host: "127.0.0.1" });
  const { port } = server.address() as AddressInfo;
  return { notes, origin: `http://127.0.0.1:${String(port)}` };
}

async function startBrowser(t: TestContext): Promise<TestBrowser> {
  const browser = await launchChromium();
  t.after(() => browser.close());
  return browser;
}

interface PageProblems {
  readonly cspViolations: unknown[];
  readonly consoleErrors: ConsoleMessage[];
  readonly pageErrors: Error[];
}

// Runs in every page before its own scripts. It is a string because the test project is
// compiled without the DOM types.
const REPORT_CSP_VIOLATIONS = `
document.addEventListener("securitypolicyviolation", (event) => {
  window.reportCspViolation({
    directive: event.violatedDirective,
    blockedUri: event.blockedURI,
    sample: event.sample,
    page: document.location.href,
  });
});
`;

/**
 * Records what would show a broken page: CSP violations, reported from the page through an
 * exposed function because a page's own variables reset on every navigation, console
 * errors and uncaught exceptions. Playwright adds the init script through the DevTools
 * protocol, so the page's CSP does not block it.
 */
async function recordProblems(page: Page): Promise<PageProblems> {
  const problems: PageProblems = { cspViolations: [], consoleErrors: [], pageErrors: [] };
  await page.exposeFunction("reportCspViolation", (violation: unknown) => {
    problems.cspViolations.push(violation);
  });
  await page.addInitScript({ content: REPORT_CSP_VIOLATIONS });
  page.on("console", (message) => {
    if (message.type() === "error") problems.consoleErrors.push(message);
  });
  page.on("pageerror", (error) => problems.pageErrors.push(error));
  return problems;
}

async function screenshot(page: Page, name: string): Promise<void> {
  await mkdir(SCREENSHOTS, { recursive: true });
  await page.screenshot({ path: join(SCREENSHOTS, `notes-browser-${name}.png`), fullPage: true });
}

/** Sets a marker on the current document. It survives htmx swaps and disappears on a full page load. */
async function markDocument(page: Page): Promise<void> {
  await page.evaluate('window.documentMarker = "not reloaded"');
}

async function documentMarker(page: Page): Promise<unknown> {
  return page.evaluate("window.documentMarker");
}

async function logInAsAlice(page: Page, origin: string): Promise<void> {
  await page.goto(`${origin}/login`);
  await page.getByLabel("Email").fill(ALICE);
  await page.getByLabel("Password").fill(DEMO_PASSWORD);
  await Promise.all([page.waitForURL(`${origin}/notes`), page.getByRole("button", { name: "Log in" }).click()]);
}

/** Serves one HTML page on 127.0.0.1 with a free port, as another origin of the same machine. */
async function startOtherOrigin(t: TestContext, html: string): Promise<string> {
  const server: Server = createServer((_req, res) => {
    res.writeHead(200, { "content-type": "text/html; charset=utf-8" });
    res.end(html);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  t.after(
    () =>
      new Promise<void>((resolve) => {
        server.close(() => {
          resolve();
        });
        // The browser may still hold a keep-alive connection, which close() would wait for.
        server.closeAllConnections();
      }),
  );
  const { port } = server.address() as AddressInfo;
  return `http://127.0.0.1:${String(port)}`;
}

/**
 * Returns a page with two forms that post a note to the app: one without a CSRF token, as
 * another site would, and one with `token`.
 */
function forgingPage(appOrigin: string, token: string): string {
  return `<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>Another site</title></head>
<body>
<form method="post" action="${appOrigin}/notes">
  <input type="hidden" name="text" value="forged without a token">
  <button id="without-token">Send without a token</button>
</form>
<form method="post" action="${appOrigin}/notes">
  <input type="hidden" name="text" value="forged with a token">
  <input type="hidden" name="_csrf_token" value="${token}">
  <button id="with-token">Send with a token</button>
</form>
</body>
</html>
`;
}

// Without Chromium the suite skips, in one line that names the package to install.
describe("notes app in Chromium", { skip, timeout: 120_000 }, () => {
  test("login, htmx notes, guard and logout", async (t) => {
    const { notes, origin } = await startApp(t);
    const browser = await startBrowser(t);
    const page = browser.context.pages()[0] ?? (await browser.context.newPage());
    page.setDefaultTimeout(ACTION_TIMEOUT_MS);
    const problems = await recordProblems(page);
    const aliceId = Number(notes.users.findByEmail(ALICE)?.id);

    // Log in through the form.
    await logInAsAlice(page, origin);
    await page.getByText("You are logged in as Alice.").waitFor();
    await screenshot(page, "01-logged-in");

    // A note of only spaces passes the browser's `required` check and gets the server's 422,
    // which htmx swaps into the form's error message.
    await markDocument(page);
    const textarea = page.locator("#note-text");
    await textarea.fill("   ");
    const rejected = page.waitForResponse((response) => response.url() === `${origin}/notes`);
    await page.getByRole("button", { name: "Add note" }).click();
    assert.equal((await rejected).status(), 422);
    await page.locator("#note-error").getByText("The note is empty.").waitFor();
    assert.equal(notes.store.count(aliceId), 0);

    // Create a note with htmx: the list updates without a page load.
    await textarea.fill("Buy <b>milk</b> & bread");
    const created = page.waitForResponse((response) => response.url() === `${origin}/notes`);
    await page.getByRole("button", { name: "Add note" }).click();
    const createResponse = await created;
    assert.equal(createResponse.status(), 200);
    const createHeaders = createResponse.request().headers();
    assert.equal(createHeaders["hx-request"], "true");
    assert.match(createHeaders["x-csrf-token"] ?? "", /^[A-Za-z0-9_-]{86}$/);
    const item = page.locator("#notes li").first();
    await item.locator(".note-text").getByText("Buy <b>milk</b> & bread", { exact: true }).waitFor();
    assert.equal(await documentMarker(page), "not reloaded", "htmx added the note without a page load");
    assert.equal(await textarea.inputValue(), "", "notes.js cleared the form");
    assert.equal(await page.locator("#note-error").textContent(), "", "the earlier error is gone");
    const [note] = notes.store.latest(aliceId, 1);
    assert.equal(note?.text, "Buy <b>milk</b> & bread");
    await screenshot(page, "02-note-created");

    // Edit it with htmx: the form replaces the note in the list, and the saved note the form.
    const noteId = String(note.id);
    await item.getByRole("link", { name: "Edit" }).click();
    const editText = page.locator(`#note-${noteId}-text`);
    await editText.waitFor();
    await editText.fill("Buy oat milk");
    await screenshot(page, "03-editing");
    const saved = page.waitForResponse((response) => response.url() === `${origin}/notes/${noteId}`);
    await page.getByRole("button", { name: "Save" }).click();
    assert.equal((await saved).status(), 200);
    await page.locator(`#note-${noteId} .note-text`).getByText("Buy oat milk", { exact: true }).waitFor();
    assert.equal(await documentMarker(page), "not reloaded", "htmx saved the edit without a page load");
    assert.equal(notes.store.find(note.id)?.text, "Buy oat milk");

    // Delete it with htmx. The token travels in the header, never in the URL.
    const deleted = page.waitForResponse((response) => response.request().method() === "DELETE");
    await page.locator(`#note-${noteId}`).getByRole("button", { name: "Delete" }).click();
    const deleteResponse = await deleted;
    assert.equal(deleteResponse.status(), 200);
    assert.equal(deleteResponse.url(), `${origin}/notes/${noteId}`, "no query string, so no token in the URL");
    assert.match(deleteResponse.request().headers()["x-csrf-token"] ?? "", /^[A-Za-z0-9_-]{86}$/);
    await page.locator(`#note-${noteId}`).waitFor({ state: "detached" });
    assert.equal(await documentMarker(page), "not reloaded", "htmx deleted the note without a page load");
    assert.equal(notes.store.count(aliceId), 0);
    await page.locator(".notes-empty").waitFor({ state: "visible" });

    // The admin's note is not Alice's to edit.
    const adminNote = notes.store.add(Number(notes.users.findByEmail(ADMIN)?.id), "admin's private note");
    const forbiddenUrl = `${origin}/notes/${String(adminNote.id)}/edit`;
    const forbidden = await page.goto(forbiddenUrl);
    assert.equal(forbidden?.status(), 403);
    assert.equal(forbidden.headers()["x-frame-options"], "DENY");
    assert.doesNotMatch(await page.content(), /admin's private note/);
    await screenshot(page, "04-forbidden");

    // Log out through the form in the header.
    await page.goto(`${origin}/notes`);
    await Promise.all([page.waitForURL(`${origin}/`), page.getByRole("button", { name: "Log out" }).click()]);
    await page.getByText("You have logged out.").waitFor();
    await page.goto(`${origin}/dashboard`);
    assert.equal(page.url(), `${origin}/login?next=%2Fdashboard`);
    await screenshot(page, "05-logged-out");

    assert.deepEqual(problems.cspViolations, []);
    assert.deepEqual(problems.pageErrors, []);
    // The 422 and the 403 above are meant to happen. Chromium logs both as failed resource
    // loads, and htmx logs the 422 as a response error, because the app's htmx config marks
    // it as an error so that notes.js keeps the text. Nothing else may appear.
    assert.deepEqual(
      problems.consoleErrors.map((message) => `${message.location().url}: ${message.text()}`),
      [
        `${origin}/notes: Failed to load resource: the server responded with a status of 422 (Unprocessable Entity)`,
        `${origin}/static/htmx.min.js: Response Status Error Code 422 from /notes, [object HTMLParagraphElement]`,
        `${forbiddenUrl}: Failed to load resource: the server responded with a status of 403 (Forbidden)`,
      ],
    );
    assert.deepEqual(browser.blockedUrls, []);
  });

  test("signup, reset through outbox, login", async (t) => {
    const { notes, origin } = await startApp(t);
    const browser = await startBrowser(t);
    const page = browser.context.pages()[0] ?? (await browser.context.newPage());
    page.setDefaultTimeout(ACTION_TIMEOUT_MS);
    const problems = await recordProblems(page);
    const email = "bob@example.com";
    const newPassword = "bobs brand new password";

    // Sign up from the login page's link.
    await page.goto(`${origin}/login`);
    await Promise.all([
      page.waitForURL(`${origin}/signup`),
      page.getByRole("link", { name: "Sign up" }).last().click(),
    ]);
    await page.getByLabel("Email").fill(email);
    await page.getByLabel("Name").fill("Bob");
    await page.getByLabel("Password", { exact: true }).fill("bobs first password");
    await page.getByLabel("Repeat the password").fill("bobs first password");
    await Promise.all([page.waitForURL(`${origin}/notes`), page.getByRole("button", { name: "Sign up" }).click()]);
    await page.getByText("Welcome, Bob. Your account is ready.").waitFor();
    await Promise.all([page.waitForURL(`${origin}/`), page.getByRole("button", { name: "Log out" }).click()]);

    // Request a reset link and read it from the outbox page.
    await page.goto(`${origin}/login`);
    await Promise.all([
      page.waitForURL(`${origin}/password-reset`),
      page.getByRole("link", { name: "Forgot your password?" }).click(),
    ]);
    await page.getByLabel("Email").fill(email);
    await page.getByRole("button", { name: "Send reset link" }).click();
    await page.getByText("If an account exists for that email, we sent a link to reset its password.").waitFor();
    await page.goto(`${origin}/outbox`);
    const link = (await page.getByRole("link", { name: "Open the link" }).first().getAttribute("href")) ?? "";
    // The link starts with the default public origin, which is not this test server's port.
    assert.match(link, /^http:\/\/127\.0\.0\.1:8000\/password-reset\/confirm\?token=/);
    const linkUrl = new URL(link);
    await screenshot(page, "07-outbox");

    // Set a new password through the link, then log in with it.
    await page.goto(`${origin}${linkUrl.pathname}${linkUrl.search}`);
    await page.getByLabel("New password", { exact: true }).fill(newPassword);
    await page.getByLabel("Repeat the new password").fill(newPassword);
    await Promise.all([page.waitForURL(`${origin}/login`), page.getByRole("button", { name: "Set password" }).click()]);
    await page.getByText("Your password has been reset. Log in with the new password.").waitFor();
    await page.getByLabel("Email").fill(email);
    await page.getByLabel("Password").fill(newPassword);
    await Promise.all([page.waitForURL(`${origin}/notes`), page.getByRole("button", { name: "Log in" }).click()]);
    await page.getByText("You are logged in as Bob.").waitFor();

    assert.equal(notes.users.findByEmail(email)?.sessionVersion, 2, "the reset bumped the session version");
    assert.deepEqual(problems.cspViolations, []);
    assert.deepEqual(problems.pageErrors, []);
    assert.deepEqual(
      problems.consoleErrors.map((message) => message.text()),
      [],
    );
    assert.deepEqual(browser.blockedUrls, []);
  });

  test("form from another origin is rejected", async (t) => {
    const { notes, origin } = await startApp(t);
    const browser = await startBrowser(t);
    const page = browser.context.pages()[0] ?? (await browser.context.newPage());
    page.setDefaultTimeout(ACTION_TIMEOUT_MS);
    const aliceId = Number(notes.users.findByEmail(ALICE)?.id);

    await logInAsAlice(page, origin);
    // A valid token of Alice's session, as if it had leaked, shows that the origin check
    // rejects the post on its own.
    const leakedToken = (await page.locator('meta[name="csrf-token"]').getAttribute("content")) ?? "";
    assert.match(leakedToken, /^[A-Za-z0-9_-]{86}$/);

    // Another port of the same address is another origin but the same site, so the browser
    // sends Alice's SameSite=Lax session cookie along.
    const otherOrigin = await startOtherOrigin(t, forgingPage(origin, leakedToken));

    for (const button of ["#without-token", "#with-token"]) {
      await page.goto(`${otherOrigin}/`);
      const posted = page.waitForResponse((response) => response.url() === `${origin}/notes`);
      await page.locator(button).click();
      const response = await posted;
      const headers = await response.request().allHeaders();
      assert.equal(response.status(), 403, button);
      assert.equal(headers.origin, otherOrigin, `${button}: the browser sent the other origin`);
      assert.ok(headers.cookie?.includes("chirp_session="), `${button}: the browser sent the session cookie`);
      await page.getByText("The form has expired or was sent from another site.").waitFor();
    }
    await screenshot(page, "06-cross-origin-rejected");

    assert.equal(notes.store.count(aliceId), 0);
    assert.equal(notes.store.count(), 0);
    // Alice is still logged in, so the rejection was the CSRF check and not a missing session.
    const dashboard = await page.goto(`${origin}/dashboard`);
    assert.equal(dashboard?.status(), 200);
    assert.deepEqual(browser.blockedUrls, []);
  });
});

import assert from "node:assert/strict";
import { test } from "node:test";
import { CURRENT_PASSWORD_MESSAGE, EMAIL_TAKEN_MESSAGE } from "../../examples/notes/routes/account.js";
import { TestClient } from "../../src/testing/index.js";
import { ALICE, createTestApp, DEMO_PASSWORD, logIn, postForm, recordSecurityEvents } from "./notes-helpers.js";

const NEW_PASSWORD = "a new password for alice";
const SIGNUP = { email: "Bob@Example.com", name: "Bob", password: "bobs password 1", confirm: "bobs password 1" };

// Signup

test("signup logs in and opens notes", async (t) => {
  const notes = await createTestApp(t);
  const client = new TestClient(notes.app);

  const form = await client.get("/signup");
  const response = await postForm(client, "/signup", SIGNUP);
  const page = await client.get("/notes");

  assert.equal(form.status, 200);
  assert.match(form.text, /<input\s+id="signup-password"\s+name="password"\s+type="password"\s+minlength="8"/);
  assert.equal(response.status, 303);
  assert.equal(response.header("location"), "/notes");
  assert.equal(page.status, 200);
  assert.match(page.text, /Welcome, Bob\. Your account is ready\./);
  assert.match(page.text, /<span class="user-name">Bob<\/span>/);
  assert.equal(notes.users.findByEmail("bob@example.com")?.email, "bob@example.com", "the email is normalised");
});

test("signed-up user can log in again", async (t) => {
  const notes = await createTestApp(t);
  await postForm(new TestClient(notes.app), "/signup", SIGNUP);

  await logIn(new TestClient(notes.app), " BOB@example.com", SIGNUP.password);
});

test("signup validation errors re-render", async (t) => {
  const notes = await createTestApp(t);
  const client = new TestClient(notes.app);
  const cases: { form: Record<string, string>; status: number; message: RegExp }[] = [
    { form: { ...SIGNUP, email: "not-an-email" }, status: 422, message: /The email address is invalid/ },
    { form: { ...SIGNUP, email: `${"x".repeat(250)}@example.com` }, status: 422, message: /email address is invalid/ },
    { form: { ...SIGNUP, name: "   " }, status: 422, message: /The name is empty/ },
    { form: { ...SIGNUP, name: "n".repeat(101) }, status: 422, message: /The name is too long/ },
    { form: { ...SIGNUP, password: "short", confirm: "short" }, status: 422, message: /at least 8 characters/ },
    { form: { ...SIGNUP, password: "p".repeat(1025), confirm: "p".repeat(1025) }, status: 422, message: /too long/ },
    { form: { ...SIGNUP, confirm: "something else" }, status: 422, message: /The two passwords differ/ },
    { form: { email: SIGNUP.email, name: SIGNUP.name, password: SIGNUP.password }, status: 400, message: /no confirm/ },
    {
      form: { name: SIGNUP.name, password: SIGNUP.password, confirm: SIGNUP.confirm },
      status: 400,
      message: /no email/,
    },
  ];

  for (const { form, status, message } of cases) {
    const response = await postForm(client, "/signup", form);
    assert.equal(response.status, status, JSON.stringify(form).slice(0, 80));
    assert.match(response.text, message);
    assert.deepEqual(response.cookies, [], "nobody is logged in");
  }
  const withEmail = await postForm(client, "/signup", { ...SIGNUP, name: "" });
  assert.match(withEmail.text, /value="Bob@Example\.com"/, "the form keeps the email");
  assert.ok(!withEmail.text.includes(SIGNUP.password), "the password is never shown again");
  assert.equal(notes.users.count(), 2, "only the demo accounts exist");
});

test("signup with a taken email fails", async (t) => {
  const notes = await createTestApp(t);
  const client = new TestClient(notes.app);

  const response = await postForm(client, "/signup", { ...SIGNUP, email: " ALICE@example.com" });

  assert.equal(response.status, 422);
  assert.ok(response.text.includes(EMAIL_TAKEN_MESSAGE));
  assert.equal(notes.users.count(), 2);
  assert.equal((await client.get("/dashboard")).status, 302);
});

test("signup while logged in redirects", async (t) => {
  const notes = await createTestApp(t);
  const client = new TestClient(notes.app);
  await logIn(client);

  const response = await client.get("/signup");

  assert.equal(response.status, 303);
  assert.equal(response.header("location"), "/notes");
});

test("signup without token is 403", async (t) => {
  const notes = await createTestApp(t);

  const response = await new TestClient(notes.app).post("/signup", { form: SIGNUP });

  assert.equal(response.status, 403);
  assert.equal(notes.users.count(), 2);
});

// Change password

test("password change keeps only this session", async (t) => {
  const events = recordSecurityEvents(t);
  const notes = await createTestApp(t);
  const laptop = new TestClient(notes.app);
  const phone = new TestClient(notes.app);
  await logIn(laptop);
  await logIn(phone);

  const response = await postForm(laptop, "/account/password", {
    current: DEMO_PASSWORD,
    password: NEW_PASSWORD,
    confirm: NEW_PASSWORD,
  });

  assert.equal(response.status, 303);
  assert.equal(response.header("location"), "/dashboard");
  const dashboard = await laptop.get("/dashboard");
  assert.equal(dashboard.status, 200, "this session stays logged in");
  assert.match(dashboard.text, /Your password has been changed\./);
  assert.equal((await phone.get("/dashboard")).status, 302, "the other session is logged out");
  assert.ok(events.some((event) => event.name === "auth.session.version_mismatch"));
  await logIn(new TestClient(notes.app), ALICE, NEW_PASSWORD);
  const old = await postForm(new TestClient(notes.app), "/login", { email: ALICE, password: DEMO_PASSWORD });
  assert.equal(old.status, 400, "the old password no longer works");
});

test("password change needs current password", async (t) => {
  const notes = await createTestApp(t, { lockout: { maxFailures: 2, baseLockSeconds: 60 } });
  const client = new TestClient(notes.app);
  await logIn(client);
  const hashBefore = notes.users.findStoredByEmail(ALICE)?.passwordHash;
  const form = { current: "wrong current password", password: NEW_PASSWORD, confirm: NEW_PASSWORD };

  const wrong = await postForm(client, "/account/password", form);
  await postForm(client, "/account/password", form);
  const locked = await postForm(client, "/account/password", { ...form, current: DEMO_PASSWORD });

  assert.equal(wrong.status, 422);
  assert.ok(wrong.text.includes(CURRENT_PASSWORD_MESSAGE));
  assert.equal(locked.status, 422);
  assert.match(locked.text, /Try again in 60 seconds\./, "wrong current passwords count towards the lockout");
  assert.equal((await client.get("/dashboard")).status, 200, "the session stays logged in");
  assert.equal(notes.users.findStoredByEmail(ALICE)?.passwordHash, hashBefore, "the password is unchanged");
});

test("password change validates new password", async (t) => {
  const notes = await createTestApp(t);
  const client = new TestClient(notes.app);
  await logIn(client);
  const hashBefore = notes.users.findStoredByEmail(ALICE)?.passwordHash;
  const cases: { form: Record<string, string>; status: number; message: RegExp }[] = [
    { form: { current: DEMO_PASSWORD, password: "short", confirm: "short" }, status: 422, message: /at least 8/ },
    { form: { current: DEMO_PASSWORD, password: NEW_PASSWORD, confirm: "other" }, status: 422, message: /differ/ },
    { form: { current: DEMO_PASSWORD, password: NEW_PASSWORD }, status: 400, message: /no confirm field/ },
    { form: { password: NEW_PASSWORD, confirm: NEW_PASSWORD }, status: 400, message: /no current field/ },
  ];

  for (const { form, status, message } of cases) {
    const response = await postForm(client, "/account/password", form);
    assert.equal(response.status, status, JSON.stringify(form));
    assert.match(response.text, message);
  }
  assert.equal(notes.users.findStoredByEmail(ALICE)?.passwordHash, hashBefore);
});

test("password page needs login", async (t) => {
  const notes = await createTestApp(t);
  const client = new TestClient(notes.app);

  const page = await client.get("/account/password");
  const token = await client.csrfToken("/login");
  const post = await client.post("/account/password", {
    form: { _csrf_token: token, current: DEMO_PASSWORD, password: NEW_PASSWORD, confirm: NEW_PASSWORD },
  });

  assert.equal(page.status, 302);
  assert.equal(page.header("location"), "/login?next=%2Faccount%2Fpassword");
  assert.equal(post.status, 302, "a valid token from an anonymous session still meets the guard");
  assert.equal(notes.users.findStoredByEmail(ALICE)?.sessionVersion, 1);
});

test("rate limit covers signup and reset", async (t) => {
  const notes = await createTestApp(t, { authRateLimit: { requests: 2 } });
  const client = new TestClient(notes.app);
  const other = new TestClient(notes.app, { remoteAddress: "192.0.2.7" });

  const signup = await postForm(client, "/signup", SIGNUP);
  const reset = await postForm(client, "/password-reset", { email: ALICE });
  // A second browser on the same address shares the allowance, and signup would redirect the first.
  const sameAddress = new TestClient(notes.app);
  const blockedSignup = await postForm(sameAddress, "/signup", { ...SIGNUP, email: "carol@example.com" });
  const blockedLogin = await postForm(sameAddress, "/login", { email: ALICE, password: DEMO_PASSWORD });

  assert.equal(signup.status, 303);
  assert.equal(reset.status, 200);
  assert.equal(blockedSignup.status, 429, "the allowance is shared by the signup, reset and login forms");
  assert.equal(blockedLogin.status, 429);
  assert.equal(notes.users.findByEmail("carol@example.com"), null);
  await logIn(other);
});

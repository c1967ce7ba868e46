import assert from "node:assert/strict";
import { test } from "node:test";
import { App, ConfigurationError } from "../../src/index.js";
import { TestClient } from "../../src/testing/index.js";
import { captureLogger } from "../helpers.js";

function bodyApp(
  limits?: ConstructorParameters<typeof App>[0] extends infer O ? (O extends { limits?: infer L } ? L : never) : never,
) {
  const logger = captureLogger();
  const app = new App({ env: "test", logger, limits });
  app.post("/json", async (req) => ({ received: await req.json() }));
  app.post("/text", async (req) => ({ length: (await req.text()).length }));
  app.post("/form", async (req) => {
    const form = await req.form();
    return { fields: [...form.entries()], file: form.file("upload")?.filename ?? null };
  });
  app.post("/twice", async (req) => {
    const first = await req.form();
    const second = await req.form();
    return { same: first === second, value: second.get("a") };
  });
  app.post("/upload", async (req) => {
    const form = await req.form();
    const file = form.file("upload");
    return {
      name: file?.filename,
      type: file?.contentType,
      size: file?.size,
      text: file?.data.toString(),
      note: form.get("note"),
    };
  });
  return { client: new TestClient(app), logger };
}

test("JSON body is parsed", async () => {
  const { client } = bodyApp();
  const response = await client.post("/json", { json: { a: [1, 2], b: "ü" } });
  assert.deepEqual(response.json(), { received: { a: [1, 2], b: "ü" } });
});

test("malformed JSON gives 400", async () => {
  const { client, logger } = bodyApp();
  for (const body of ["{", "{'a':1}", "", "[1,]", "\u0000"]) {
    const response = await client.post("/json", { body, headers: { "content-type": "application/json" } });
    assert.equal(response.status, 400, `body ${JSON.stringify(body)}`);
  }
  assert.equal(logger.entries.length, 0);
});

test("JSON prototype keys give 400", async () => {
  const { client } = bodyApp();
  for (const body of ['{"__proto__": {"admin": true}}', '{"constructor": {"prototype": {"admin": true}}}']) {
    const response = await client.post("/json", { body, headers: { "content-type": "application/json" } });
    assert.equal(response.status, 400, body);
  }
  assert.equal(({} as Record<string, unknown>).admin, undefined);
});

test("JSON needs a JSON content type", async () => {
  const { client } = bodyApp();
  const response = await client.post("/json", { body: "{}", headers: { "content-type": "text/plain" } });
  assert.equal(response.status, 415);
  const vendor = await client.post("/json", {
    body: "{}",
    headers: { "content-type": "Application/Vnd.Api+JSON; charset=utf-8" },
  });
  assert.equal(vendor.status, 200);
});

test("oversized body gives 413", async () => {
  const { client } = bodyApp({ bodyBytes: 1024 });
  const big = "x".repeat(1025);
  const text = await client.post("/text", { body: big });
  assert.equal(text.status, 413);
  assert.equal(text.header("connection"), "close");
  const json = await client.post("/json", { json: { big } });
  assert.equal(json.status, 413);
  const form = await client.post("/form", { form: { big } });
  assert.equal(form.status, 413);
  const fits = await client.post("/text", { body: "x".repeat(1024) });
  assert.deepEqual(fits.json(), { length: 1024 });
});

test("body over limit without Content-Length gives 413", async () => {
  const { client } = bodyApp({ bodyBytes: 1024 });
  // A lying or absent Content-Length must not let a larger body through.
  const response = await client.post("/text", { body: "y".repeat(5000), headers: { "content-length": "10" } });
  assert.equal(response.status, 413);
});

test("invalid Content-Length gives 400", async () => {
  const { client } = bodyApp();
  for (const length of ["-1", "abc", "1e3", "NaN"]) {
    const response = await client.post("/text", { body: "x", headers: { "content-length": length } });
    assert.equal(response.status, 400, length);
  }
});

test("urlencoded form is parsed once", async () => {
  const { client } = bodyApp();
  const response = await client.post("/form", { form: { a: ["1", "2"], "b c": "ü&=" } });
  assert.deepEqual(response.json(), {
    fields: [
      ["a", "1"],
      ["a", "2"],
      ["b c", "ü&="],
    ],
    file: null,
  });
  const twice = await client.post("/twice", { form: { a: "x" } });
  assert.deepEqual(twice.json(), { same: true, value: "x" });
});

test("form field count is limited", async () => {
  const { client } = bodyApp({ fields: 3 });
  const ok = await client.post("/form", {
    body: "a=1&b=2&c=3",
    headers: { "content-type": "application/x-www-form-urlencoded" },
  });
  assert.equal(ok.status, 200);
  const tooMany = await client.post("/form", {
    body: "a=1&b=2&c=3&d=4",
    headers: { "content-type": "application/x-www-form-urlencoded" },
  });
  assert.equal(tooMany.status, 413);
});

test("non-UTF-8 charset gives 415", async () => {
  const { client } = bodyApp();
  const latin = await client.post("/form", {
    body: "a=caf%E9",
    headers: { "content-type": "application/x-www-form-urlencoded; charset=ISO-8859-1" },
  });
  assert.equal(latin.status, 415);
  const json = await client.post("/json", {
    body: "{}",
    headers: { "content-type": 'application/json; charset="utf-16"' },
  });
  assert.equal(json.status, 415);
  const utf8 = await client.post("/form", {
    body: "a=caf%C3%A9",
    headers: { "content-type": "application/x-www-form-urlencoded; Charset=UTF-8" },
  });
  assert.deepEqual(utf8.json(), { fields: [["a", "café"]], file: null });
});

test("form content type is checked", async () => {
  const { client } = bodyApp();
  const response = await client.post("/form", { body: "a=1", headers: { "content-type": "text/plain" } });
  assert.equal(response.status, 415);
  const noType = await client.post("/form", { body: "a=1" });
  assert.equal(noType.status, 415);
  const oddCase = await client.post("/form", {
    body: "a=1",
    headers: { "content-type": "Application/X-WWW-Form-Urlencoded; charset=UTF-8" },
  });
  assert.equal(oddCase.status, 200);
});

test("multipart form with a file", async () => {
  const { client } = bodyApp();
  const data = new FormData();
  data.append("note", "hello");
  data.append("upload", new File(["file body"], "notes.txt", { type: "text/plain" }));
  const response = await client.post("/upload", { multipart: data });
  assert.deepEqual(response.json(), {
    name: "notes.txt",
    type: "text/plain",
    size: 9,
    text: "file body",
    note: "hello",
  });
});

test("multipart limits give 413", async () => {
  const { client } = bodyApp({ files: 1, fileBytes: 100, fieldBytes: 50, fields: 2, multipartBytes: 4000 });

  const twoFiles = new FormData();
  twoFiles.append("upload", new File(["a"], "a.txt"));
  twoFiles.append("upload", new File(["b"], "b.txt"));
  assert.equal((await client.post("/upload", { multipart: twoFiles })).status, 413);

  const bigFile = new FormData();
  bigFile.append("upload", new File(["x".repeat(101)], "big.txt"));
  assert.equal((await client.post("/upload", { multipart: bigFile })).status, 413);

  const bigField = new FormData();
  bigField.append("note", "y".repeat(51));
  assert.equal((await client.post("/upload", { multipart: bigField })).status, 413);

  const manyFields = new FormData();
  for (const name of ["a", "b", "c"]) manyFields.append(name, "1");
  assert.equal((await client.post("/upload", { multipart: manyFields })).status, 413);

  const bigBody = new FormData();
  bigBody.append("note", "z".repeat(40));
  bigBody.append("upload", new File(["w".repeat(90)], "ok.txt"));
  const fits = await client.post("/upload", { multipart: bigBody });
  assert.equal(fits.status, 200);
});

test("whole multipart body is limited", async () => {
  const { client } = bodyApp({ multipartBytes: 1000, fileBytes: 5000 });
  const data = new FormData();
  data.append("upload", new File(["q".repeat(2000)], "big.txt"));
  assert.equal((await client.post("/upload", { multipart: data })).status, 413);
});

test("malformed multipart gives 400", async () => {
  const { client, logger } = bodyApp();
  const noBoundary = await client.post("/upload", { body: "x", headers: { "content-type": "multipart/form-data" } });
  assert.equal(noBoundary.status, 400);
  const truncated = await client.post("/upload", {
    body: '--abc\r\nContent-Disposition: form-data; name="note"\r\n\r\nhello',
    headers: { "content-type": "multipart/form-data; boundary=abc" },
  });
  assert.equal(truncated.status, 400);
  assert.equal(logger.entries.length, 0);
});

test("limits options are validated", () => {
  assert.throws(() => new App({ env: "test", limits: { bodyByte: 10 } as never }), /Unknown option limits.bodyByte/);
  assert.throws(() => new App({ env: "test", limits: { bodyBytes: -1 } }), ConfigurationError);
  assert.throws(() => new App({ env: "test", limits: { bodyBytes: 1.5 } }), /positive integer/);
});

test("oversized multipart part header gives 400", async () => {
  const { client } = bodyApp();
  const body =
    `--abc\r\nContent-Disposition: form-data; name="note"\r\nX-Padding: ${"p".repeat(17 * 1024)}\r\n\r\nhello\r\n` +
    "--abc--\r\n";
  const response = await client.post("/upload", {
    body,
    headers: { "content-type": "multipart/form-data; boundary=abc" },
  });
  assert.equal(response.status, 400);
});

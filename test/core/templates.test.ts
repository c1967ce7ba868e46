import assert from "node:assert/strict";
import { test } from "node:test";
import { App, Fragment, markSafe, Template } from "../../src/index.js";
import type { Request } from "../../src/index.js";
import { TestClient } from "../../src/testing/index.js";
import { captureLogger, writeTemplates } from "../helpers.js";

const templates = writeTemplates({
  "layout.html":
    "<html><nav>{% block nav %}default nav{% endblock %}</nav>" +
    "<main>{% block content %}layout content{% endblock %}</main>" +
    "<aside>{% block aside %}<p>aside {{ who }}</p>{% endblock %}</aside></html>",
  "section.html":
    '{% extends "layout.html" %}{% block nav %}section nav, {{ super() }}{% endblock %}' +
    "{% block content %}<ul>{% for item in items %}<li>{{ item }}</li>{% endfor %}</ul>{% endblock %}",
  "page.html":
    '{% extends "section.html" %}{% block content %}<h1>{{ title }}</h1>{% block inner %}' +
    "<em>{{ title | shout }}</em>{% endblock %}{% endblock %}",
  "dynamic.html": "{% extends parent %}{% block content %}x{% endblock %}",
  "globals.html": "{{ path_of() }} {{ raw() }}",
});

function client(): TestClient {
  const app = new App({ env: "test", templates, logger: captureLogger() });
  app.addTemplateGlobal("path_of", (req: Request) => req.path);
  app.addTemplateGlobal("raw", () => markSafe("<b>trusted</b>"));
  app.addTemplateFilter("shout", (value: string) => value.toUpperCase());
  app.get("/page", () => Template("page.html", { title: "<T>", items: [] }));
  app.get("/fragment/:block", (req) =>
    Fragment("page.html", req.params.block ?? "", { title: "Hi & bye", items: ["a", "<b>"], who: "<me>" }),
  );
  app.get("/section/:block", (req) => Fragment("section.html", req.params.block ?? "", { items: ["one"] }));
  app.get("/dynamic", () => Fragment("dynamic.html", "content", { parent: "layout.html" }));
  app.get("/globals", () => Template("globals.html"));
  return new TestClient(app);
}

test("full page renders through two parents", async () => {
  const response = await client().get("/page");
  assert.equal(
    response.text,
    "<html><nav>section nav, default nav</nav><main><h1>&lt;T&gt;</h1><em>&lt;T&gt;</em></main>" +
      "<aside><p>aside </p></aside></html>",
  );
});

test("fragment of a block the child overrides", async () => {
  const response = await client().get("/fragment/content");
  assert.equal(response.text, "<h1>Hi &amp; bye</h1><em>HI &amp; BYE</em>");
});

test("fragment of a nested block", async () => {
  assert.equal((await client().get("/fragment/inner")).text, "<em>HI &amp; BYE</em>");
});

test("fragment of a block only a parent defines", async () => {
  assert.equal((await client().get("/fragment/aside")).text, "<p>aside &lt;me&gt;</p>");
});

test("fragment keeps super() working", async () => {
  assert.equal((await client().get("/fragment/nav")).text, "section nav, default nav");
  assert.equal((await client().get("/section/content")).text, "<ul><li>one</li></ul>");
});

test("unknown block is a server error", async () => {
  const response = await client().get("/fragment/missing");
  assert.equal(response.status, 500);
});

test("fragment needs a literal extends", async () => {
  assert.equal((await client().get("/dynamic")).status, 500);
});

test("globals read the request and markSafe works", async () => {
  assert.equal((await client().get("/globals")).text, "/globals <b>trusted</b>");
});

test("missing template is a server error", async () => {
  const app = new App({ env: "test", templates, logger: captureLogger() });
  app.get("/", () => Template("nope.html"));
  assert.equal((await new TestClient(app).get("/")).status, 500);
});

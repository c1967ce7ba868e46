import { Response, Template } from "../../../src/index.js";
import type { App } from "../../../src/index.js";
import { loginRequired, requires, type SecurityEventCounters } from "../../../src/security/index.js";
import { takeFlash } from "../flash.js";
import type { NoteStore } from "../store.js";
import { currentUser, type UserStore } from "../users.js";

/** Content type of the Prometheus text exposition format, version 0.0.4. */
const PROMETHEUS_TEXT = "text/plain; version=0.0.4; charset=utf-8";

/** Adds the home page, the user's dashboard, the admin page and the admins' metrics endpoint. */
export function addPageRoutes(app: App, store: NoteStore, users: UserStore, counters: SecurityEventCounters): void {
  app.get("/", (req) => Template("home.html", { noteCount: store.count(), flash: takeFlash(req) }));

  app.get(
    "/dashboard",
    loginRequired((req) => {
      const user = currentUser(req);
      return Template("dashboard.html", { noteCount: store.count(Number(user.id)), flash: takeFlash(req) });
    }),
  );

  app.get(
    "/admin",
    requires("admin")((req) => {
      // Only the events that happened, in catalogue order, so the table stays short.
      const securityEvents = Object.entries(counters.snapshot())
        .filter(([, count]) => count > 0)
        .map(([name, count]) => ({ name, count }));
      return Template("admin.html", { users: users.summaries(), securityEvents, flash: takeFlash(req) });
    }),
  );

  // The counters tell an attacker which defences they have triggered, so only admins may read them.
  app.get(
    "/admin/metrics",
    requires("admin")(() => new Response(counters.prometheusText(), { headers: { "content-type": PROMETHEUS_TEXT } })),
  );
}

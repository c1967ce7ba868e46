import { Template } from "../../../src/index.js";
import type { App } from "../../../src/index.js";
import { loginRequired, requires } from "../../../src/security/index.js";
import { takeFlash } from "../flash.js";
import type { NoteStore } from "../store.js";
import { currentUser, type UserStore } from "../users.js";

/** Adds the home page, the user's dashboard and the admin page. */
export function addPageRoutes(app: App, store: NoteStore, users: UserStore): void {
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
    requires("admin")((req) => Template("admin.html", { users: users.summaries(), flash: takeFlash(req) })),
  );
}

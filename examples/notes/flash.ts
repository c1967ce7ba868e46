import type { Request } from "../../src/index.js";

/** Stores a one-time message that the next page shows. It survives a redirect in the session. */
export function setFlash(req: Request, message: string): void {
  req.session.set("flash", message);
}

/** Returns the one-time message stored by the previous request, removing it from the session. */
export function takeFlash(req: Request): string {
  const flash = req.session.get("flash");
  if (flash === undefined) return "";
  req.session.delete("flash");
  return typeof flash === "string" ? flash : "";
}

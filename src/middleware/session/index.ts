export { SessionMiddleware, SessionTooLargeError } from "./middleware.js";
export type { SessionOptions } from "./middleware.js";
export { Session } from "./session.js";
export type { JsonValue, SessionData } from "./session.js";
export type { SessionRecord, SessionStore } from "./store.js";

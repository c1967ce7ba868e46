export { CSRFMiddleware } from "./middleware.js";
export type { CSRFOptions } from "./middleware.js";

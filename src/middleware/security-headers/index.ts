export { SecurityHeadersMiddleware } from "./middleware.js";
export type { SecurityHeadersOptions } from "./middleware.js";
export { DEFAULT_CSP } from "./csp.js";

export { AuthRateLimitMiddleware } from "./middleware.js";
export type { AuthRateLimitOptions } from "./middleware.js";

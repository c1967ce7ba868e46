export { AuthMiddleware } from "./middleware.js";
export type { AuthOptions } from "./middleware.js";

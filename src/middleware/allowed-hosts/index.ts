export { AllowedHostsMiddleware } from "./middleware.js";
export type { AllowedHostsOptions } from "./middleware.js";

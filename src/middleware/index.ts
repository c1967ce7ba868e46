export type { Middleware, MiddlewareFunction, MiddlewareObject, Next } from "../app/types.js";

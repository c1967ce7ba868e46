export { App } from "./app/app.js";
export type { AppOptions } from "./app/app.js";
export type { Env } from "./app/env.js";
export { escapeHtml } from "./app/error-pages.js";
export { ChirpError, ConfigurationError, HTTPError, InvalidCookieError, InvalidHeaderError } from "./app/errors.js";
export type { HTTPErrorOptions } from "./app/errors.js";
export type { Logger } from "./app/logger.js";
export type { ListenOptions, RequestListener } from "./app/server.js";
export type {
  Handler,
  Middleware,
  MiddlewareFunction,
  MiddlewareObject,
  Next,
  Result,
  RouteOptions,
} from "./app/types.js";
export type { TrustProxy } from "./http/client-address.js";
export type { CookieOptions, Cookies } from "./http/cookies.js";
export { Form } from "./http/form.js";
export type { UploadedFile } from "./http/form.js";
export type { BodyLimits } from "./http/limits.js";
export { Redirect } from "./http/redirect.js";
export { Request } from "./http/request.js";
export type { RawRequest } from "./http/request.js";
export { Response } from "./http/response.js";
export type { ResponseBody, ResponseInit } from "./http/response.js";
export { markSafe } from "./templating/engine.js";
export type { TemplateFilter, TemplateGlobal } from "./templating/engine.js";
export { Fragment, Template } from "./templating/results.js";
export type { RenderOptions, TemplateContext } from "./templating/results.js";

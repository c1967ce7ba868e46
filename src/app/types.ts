import type { Request } from "../http/request.js";
import type { Redirect } from "../http/redirect.js";
import type { Response } from "../http/response.js";
import type { TemplateFilter, TemplateGlobal } from "../templating/engine.js";
import type { Fragment, Template } from "../templating/results.js";
import type { App } from "./app.js";

/** A handler's return value. A string is HTML; a plain object or array is JSON. */
export type Result =
  | string
  | Response
  | globalThis.Response
  | Template
  | Fragment
  | Redirect
  | readonly unknown[]
  | { readonly [key: string]: unknown };

/** A route handler. */
export type Handler = (req: Request) => Result | Promise<Result>;

/** A guard check: resolves to a response that stops the request, or null to let it through. */
export type GuardCheck = (req: Request) => Promise<Response | null>;

/** The property under which a guarded handler carries its check, so OPTIONS can apply it too. */
export const GUARD_CHECK = Symbol("bengal-chirp guard check");

/** A handler wrapped by `loginRequired` or `requires`. */
export type GuardedHandler = Handler & { [GUARD_CHECK]?: GuardCheck };

/** Runs the rest of the pipeline and resolves to its response; never rejects. */
export type Next = () => Promise<Response>;

/** Middleware as a function. */
export type MiddlewareFunction = (req: Request, next: Next) => Promise<Response>;

/** Middleware as an object, which may also declare globals, ordering and start-up checks. */
export interface MiddlewareObject {
  handle(req: Request, next: Next): Promise<Response>;
  /** Name used by `requires` of other middleware; defaults to the class name. */
  readonly middlewareName?: string;
  /** Names of middleware that must be added before this one; checked at start-up. */
  readonly requires?: readonly string[];
  /** Functions templates can call; each receives the request being rendered first. */
  readonly templateGlobals?: Readonly<Record<string, TemplateGlobal>>;
  /** Filters templates can use. */
  readonly templateFilters?: Readonly<Record<string, TemplateFilter>>;
  /** Called once when the app starts; throw a ConfigurationError to stop start-up. */
  setup?(app: App): void;
  /**
   * Called for every response the app sends, whatever the middleware's position: errors,
   * 404s and responses from middleware that stopped the pipeline early included.
   */
  finalizeResponse?(req: Request, response: Response): Response;
}

export type Middleware = MiddlewareFunction | MiddlewareObject;

/** Options of `app.route`. */
export interface RouteOptions {
  /** Default `["GET"]`. HEAD runs the GET handler; OPTIONS returns 204 with `Allow` unless defined. */
  methods?: readonly string[];
}

import type { Server } from "node:http";
import type { BodyLimits } from "../http/limits.js";
import { resolveLimits } from "../http/limits.js";
import { Request, splitTarget, type RawRequest, type RequestSettings } from "../http/request.js";
import { Response } from "../http/response.js";
import { compileTrustProxy, type TrustProxy } from "../http/client-address.js";
import { TemplateEngine, type TemplateFilter, type TemplateGlobal } from "../templating/engine.js";
import { resolveEnv, type Env } from "./env.js";
import { errorResponse } from "./error-pages.js";
import { ConfigurationError, HTTPError } from "./errors.js";
import { stderrLogger, type Logger } from "./logger.js";
import { checkOptionKeys } from "./options.js";
import { toResponse } from "./results.js";
import { Router, type RouteMatch } from "./router.js";
import { closeServer, createRequestListener, listen, type ListenOptions, type RequestListener } from "./server.js";
import {
  GUARD_CHECK,
  type GuardedHandler,
  type Handler,
  type Middleware,
  type MiddlewareObject,
  type Next,
  type RouteOptions,
} from "./types.js";

/** Options of {@link App}. */
export interface AppOptions {
  /** Template folder or folders. Default `"templates"`, relative to the working directory. */
  templates?: string | readonly string[];
  /** Default: `CHIRP_ENV`, then `NODE_ENV`, then `"development"`. */
  env?: Env;
  /** Proxies that may report the client address and protocol. Default `false`. */
  trustProxy?: TrustProxy;
  /** Request body limits; see {@link BodyLimits} for each default. */
  limits?: Partial<BodyLimits>;
  /** Diagnostics logger, pino-compatible. Default: warnings and errors as JSON lines on stderr. */
  logger?: Logger;
  /** Seconds `close()` waits for in-flight requests before closing their connections. Default 10. */
  closeTimeoutSeconds?: number;
  /**
   * The origin users reach the app at, such as `"https://notes.example.com"`, for absolute
   * links in emails. Never taken from the `Host` header, which clients control.
   */
  publicOrigin?: string;
}

const APP_OPTIONS = ["templates", "env", "trustProxy", "limits", "logger", "closeTimeoutSeconds", "publicOrigin"];

function checkPublicOrigin(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  let parsed: URL | undefined;
  try {
    parsed = new URL(value);
  } catch {
    parsed = undefined;
  }
  if (
    parsed === undefined ||
    (parsed.protocol !== "https:" && parsed.protocol !== "http:") ||
    parsed.origin !== value.replace(/\/$/, "")
  ) {
    throw new ConfigurationError(
      `publicOrigin must be an origin such as "https://app.example.com", without a path, got ${JSON.stringify(value)}`,
    );
  }
  return parsed.origin;
}

type Endpoint = (req: Request) => Promise<Response>;

function middlewareName(middleware: Middleware, index: number): string {
  const name =
    typeof middleware === "function" ? middleware.name : (middleware.middlewareName ?? middleware.constructor.name);
  // Arrow functions and object literals have no useful name of their own.
  return name === "" || name === "Object" ? `middleware #${String(index + 1)}` : name;
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return typeof value === "object" && value !== null && typeof (value as { then?: unknown }).then === "function";
}

/**
 * A Chirp application: routes, middleware and templates. Configure it, then call `listen()`,
 * pass `handler()` to a node:http server, or drive it with the TestClient. The first of
 * these runs the start-up checks, after which routes and middleware can no longer change.
 */
export class App {
  readonly env: Env;
  readonly logger: Logger;
  /** The configured public origin, or undefined. */
  readonly publicOrigin: string | undefined;
  readonly #router = new Router();
  readonly #middleware: Middleware[] = [];
  readonly #globals = new Map<string, TemplateGlobal>();
  readonly #filters = new Map<string, TemplateFilter>();
  readonly #templateDirectory: string | readonly string[];
  readonly #settings: RequestSettings;
  readonly #closeTimeoutSeconds: number;
  #engine: TemplateEngine | undefined;
  #ready = false;
  #layers: ((req: Request, next: Next) => Promise<Response>)[] = [];
  #finalizers: MiddlewareObject[] | null = null;
  #server: Server | undefined;
  readonly #templatesOnDemand = (): TemplateEngine => this.templates;

  constructor(options: AppOptions = {}) {
    checkOptionKeys("App", options, APP_OPTIONS);
    this.env = resolveEnv(options.env);
    this.logger = options.logger ?? stderrLogger;
    this.#templateDirectory = options.templates ?? "templates";
    this.publicOrigin = checkPublicOrigin(options.publicOrigin);
    this.#settings = {
      limits: resolveLimits(options.limits),
      trust: compileTrustProxy(options.trustProxy),
      logger: this.logger,
    };
    const closeTimeout = options.closeTimeoutSeconds ?? 10;
    if (!(closeTimeout >= 0) || !Number.isFinite(closeTimeout)) {
      throw new ConfigurationError(`closeTimeoutSeconds must be a non-negative number, got ${String(closeTimeout)}`);
    }
    this.#closeTimeoutSeconds = closeTimeout;
  }

  /**
   * Returns an absolute URL for `path` on the configured public origin. Throws a
   * ConfigurationError when `publicOrigin` is not set, rather than trusting `Host`.
   */
  publicUrl(path: string): string {
    if (this.publicOrigin === undefined) {
      throw new ConfigurationError(
        'Absolute links need the publicOrigin option, such as new App({ publicOrigin: "https://app.example.com" })',
      );
    }
    if (!path.startsWith("/") || path.startsWith("//")) {
      throw new ConfigurationError(`publicUrl() needs a path starting with "/", got ${JSON.stringify(path)}`);
    }
    return this.publicOrigin + path;
  }

  /** The request body limits in force. */
  get limits(): Readonly<BodyLimits> {
    return this.#settings.limits;
  }

  /** The middleware in the order added. */
  get middleware(): readonly Middleware[] {
    return this.#middleware;
  }

  /** Registers a handler for `path`, for GET unless `options.methods` lists other methods. */
  route(path: string, handler: Handler): this;
  route(path: string, options: RouteOptions, handler: Handler): this;
  route(path: string, optionsOrHandler: RouteOptions | Handler, maybeHandler?: Handler): this {
    this.#assertConfigurable("route");
    const options = typeof optionsOrHandler === "function" ? {} : optionsOrHandler;
    const handler = typeof optionsOrHandler === "function" ? optionsOrHandler : maybeHandler;
    checkOptionKeys(`route ${path}`, options, ["methods"]);
    if (typeof handler !== "function") throw new ConfigurationError(`Route ${path} needs a handler function`);
    this.#router.add(path, options.methods ?? ["GET"], handler);
    return this;
  }

  get(path: string, handler: Handler): this {
    return this.route(path, { methods: ["GET"] }, handler);
  }

  post(path: string, handler: Handler): this {
    return this.route(path, { methods: ["POST"] }, handler);
  }

  put(path: string, handler: Handler): this {
    return this.route(path, { methods: ["PUT"] }, handler);
  }

  patch(path: string, handler: Handler): this {
    return this.route(path, { methods: ["PATCH"] }, handler);
  }

  delete(path: string, handler: Handler): this {
    return this.route(path, { methods: ["DELETE"] }, handler);
  }

  /** Adds middleware. The first added runs first and receives the response last. */
  addMiddleware(middleware: Middleware): this {
    this.#assertConfigurable("addMiddleware");
    // Checked at run time too, for JavaScript callers without the types.
    const candidate = middleware as Partial<MiddlewareObject> | null;
    if (typeof candidate !== "function" && typeof candidate?.handle !== "function") {
      throw new ConfigurationError(
        "addMiddleware expects a function (req, next) or an object with a handle(req, next) method",
      );
    }
    this.#middleware.push(middleware);
    return this;
  }

  /** Registers a template global; it receives the request being rendered, then its arguments. */
  addTemplateGlobal(name: string, global: TemplateGlobal): this {
    this.#assertConfigurable("addTemplateGlobal");
    this.#globals.set(name, global);
    return this;
  }

  addTemplateFilter(name: string, filter: TemplateFilter): this {
    this.#assertConfigurable("addTemplateFilter");
    this.#filters.set(name, filter);
    return this;
  }

  /**
   * Runs the start-up checks once: middleware order (`requires`) and each middleware's
   * `setup`. Called by `listen`, `handler` and the TestClient; throws a ConfigurationError.
   */
  ready(): this {
    if (this.#ready) return this;
    const names = this.#middleware.map((middleware, index) => middlewareName(middleware, index));
    this.#middleware.forEach((middleware, index) => {
      if (typeof middleware === "function") return;
      for (const required of middleware.requires ?? []) {
        const position = names.indexOf(required);
        if (position === -1 || position > index) {
          throw new ConfigurationError(
            `${names[index] ?? "Middleware"} requires ${required} to run before it: ` +
              `call app.addMiddleware(new ${required}(...)) before adding ${names[index] ?? "it"}`,
          );
        }
      }
    });

    for (const middleware of this.#middleware) {
      if (typeof middleware === "function") continue;
      middleware.setup?.(this);
      for (const [name, global] of Object.entries(middleware.templateGlobals ?? {})) this.#globals.set(name, global);
      for (const [name, filter] of Object.entries(middleware.templateFilters ?? {})) this.#filters.set(name, filter);
    }

    this.#layers = this.#middleware.map((middleware) =>
      typeof middleware === "function" ? middleware : (req: Request, next: Next) => middleware.handle(req, next),
    );
    const finalizers = this.#middleware.filter(
      (middleware): middleware is MiddlewareObject =>
        typeof middleware !== "function" && middleware.finalizeResponse !== undefined,
    );
    this.#finalizers = finalizers.length === 0 ? null : finalizers;
    this.#ready = true;
    return this;
  }

  /** The template engine, created on first use. */
  get templates(): TemplateEngine {
    if (this.#engine === undefined) {
      this.#engine = new TemplateEngine({ directory: this.#templateDirectory, reload: this.env === "development" });
      for (const [name, global] of this.#globals) this.#engine.addGlobal(name, global);
      for (const [name, filter] of this.#filters) this.#engine.addFilter(name, filter);
    }
    return this.#engine;
  }

  /**
   * Runs one request through routing, middleware and the handler. Always resolves to a
   * response: errors become error pages. Server adapters and the TestClient call this.
   */
  dispatch(raw: RawRequest): Promise<Response> {
    if (!this.#ready) this.ready();
    let req: Request;
    let endpoint: Endpoint;
    try {
      const { rawPath, search } = splitTarget(raw.url);
      req = new Request(raw, this.#settings, rawPath, search);
      endpoint = this.#endpointFor(req, rawPath);
    } catch (error) {
      // The target or path itself is invalid, so respond with its 400 through middleware, without a handler.
      req = new Request(raw, this.#settings, "/", "");
      endpoint = function rejectInvalidTarget() {
        return Promise.reject(error instanceof Error ? error : new Error(String(error)));
      };
    }

    const response = this.#layers.length === 0 ? this.#runEndpoint(endpoint, req) : this.#runLayer(0, req, endpoint);
    return this.#finalizers === null ? response : response.then((result) => this.#finalize(req, result));
  }

  /** Returns a node:http request listener for this app. */
  handler(): RequestListener {
    this.ready();
    return createRequestListener(this);
  }

  /** Starts an HTTP server; default host 127.0.0.1, port 8000. */
  async listen(options: ListenOptions = {}): Promise<Server> {
    if (this.#server !== undefined) throw new ConfigurationError("listen() was already called on this app");
    this.ready();
    this.#server = await listen(this, options);
    return this.#server;
  }

  /** Stops accepting connections and waits for in-flight requests, up to `closeTimeoutSeconds`. */
  async close(): Promise<void> {
    const server = this.#server;
    if (server === undefined) return;
    this.#server = undefined;
    await closeServer(server, this.#closeTimeoutSeconds * 1000);
  }

  #assertConfigurable(method: string): void {
    if (this.#ready) {
      throw new ConfigurationError(
        `${method}() was called after the app started; configure routes and middleware before listen()`,
      );
    }
  }

  #endpointFor(req: Request, rawPath: string): Endpoint {
    const match = this.#router.find(rawPath);
    if (match === null) return rejectNotFound;
    req.route = match.entry.pattern;
    req.params = match.params;
    const handler = this.#handlerFor(req.method, match);
    if (handler !== undefined) {
      return (request) => this.#callHandler(handler, request);
    }
    const allow = match.entry.allow;
    if (req.method === "OPTIONS") {
      const checks = [...match.entry.handlers.values()].flatMap(
        (routeHandler) => (routeHandler as GuardedHandler)[GUARD_CHECK] ?? [],
      );
      return async function answerOptions(request) {
        // A guarded route reveals its methods only to those its guards let through.
        for (const check of checks) {
          const denied = await check(request);
          if (denied !== null) return denied;
        }
        return Response.trusted(204, { allow }, null);
      };
    }
    return function rejectMethodNotAllowed() {
      return Promise.reject(new HTTPError(405, undefined, { headers: { allow } }));
    };
  }

  #handlerFor(method: string, match: RouteMatch): Handler | undefined {
    const handlers = match.entry.handlers;
    return handlers.get(method) ?? (method === "HEAD" ? handlers.get("GET") : undefined);
  }

  #callHandler(handler: Handler, req: Request): Promise<Response> {
    const result = handler(req);
    if (isThenable(result))
      return Promise.resolve(result).then((value) => toResponse(value, req, this.#templatesOnDemand));
    return Promise.resolve(toResponse(result, req, this.#templatesOnDemand));
  }

  #runEndpoint(endpoint: Endpoint, req: Request): Promise<Response> {
    try {
      return endpoint(req).then(undefined, (error: unknown) => this.#errorResponse(error, req));
    } catch (error) {
      return Promise.resolve(this.#errorResponse(error, req));
    }
  }

  #runLayer(index: number, req: Request, endpoint: Endpoint): Promise<Response> {
    const layer = this.#layers[index];
    if (layer === undefined) return this.#runEndpoint(endpoint, req);
    let called = false;
    const next: Next = () => {
      if (called) return Promise.reject(new Error("next() was called twice by the same middleware"));
      called = true;
      return this.#runLayer(index + 1, req, endpoint);
    };
    try {
      return layer(req, next).then(
        (response) => this.#checkMiddlewareResult(response, index, req),
        (error: unknown) => this.#errorResponse(error, req),
      );
    } catch (error) {
      return Promise.resolve(this.#errorResponse(error, req));
    }
  }

  #checkMiddlewareResult(response: unknown, index: number, req: Request): Response {
    if (response instanceof Response) return response;
    const name = middlewareName(this.#middleware[index] as Middleware, index);
    return this.#errorResponse(
      new TypeError(`${name} resolved to ${String(response)} instead of a Response; return await next() or a Response`),
      req,
    );
  }

  #finalize(req: Request, response: Response): Response {
    let result = response;
    for (const middleware of this.#finalizers ?? []) {
      try {
        result = (middleware.finalizeResponse as NonNullable<MiddlewareObject["finalizeResponse"]>)(req, result);
      } catch (error) {
        const index = this.#middleware.indexOf(middleware);
        this.logger.error({ err: error, middleware: middlewareName(middleware, index) }, "finalizeResponse failed");
        result = this.#errorResponse(error, req);
      }
    }
    return result;
  }

  #errorResponse(error: unknown, req: Request): Response {
    return errorResponse(error, req, this.env, this.logger);
  }
}

function rejectNotFound(): Promise<Response> {
  return Promise.reject(new HTTPError(404));
}

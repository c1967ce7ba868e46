import nunjucks from "nunjucks";
import type { Request } from "../http/request.js";
import type { TemplateContext } from "./results.js";
import { renderBlock } from "./fragment.js";

/** A template global that receives the request being rendered, then the template's arguments. */
export type TemplateGlobal = (req: Request, ...args: never[]) => unknown;

/** A template filter, as Nunjucks calls it: the value first, then the filter's arguments. */
export type TemplateFilter = (value: never, ...args: never[]) => unknown;

/** Options of the {@link TemplateEngine}. */
export interface TemplateEngineOptions {
  /** Folder or folders to load templates from. */
  directory: string | readonly string[];
  /** Reload templates from disk on each render; the app turns this on in development. */
  reload: boolean;
}

// The render context carries the request under this key, so globals can reach it through `this.ctx`.
const REQUEST_KEY = "__chirp_request__";

interface NunjucksCallContext {
  ctx: Record<string, unknown>;
}

/**
 * Nunjucks with autoescaping always on. Globals registered here are called with the request
 * that is being rendered, so middleware can offer request-bound helpers such as `csrf_field()`.
 */
export class TemplateEngine {
  readonly environment: nunjucks.Environment;

  constructor(options: TemplateEngineOptions) {
    const loader = new nunjucks.FileSystemLoader([...[options.directory].flat()], { noCache: options.reload });
    this.environment = new nunjucks.Environment(loader, {
      autoescape: true,
      throwOnUndefined: false,
      trimBlocks: true,
      lstripBlocks: true,
    });
  }

  addGlobal(name: string, global: TemplateGlobal): void {
    const call = global as (req: Request, ...args: unknown[]) => unknown;
    this.environment.addGlobal(name, function callWithRequest(this: NunjucksCallContext, ...args: unknown[]) {
      const req = this.ctx[REQUEST_KEY] as Request | undefined;
      if (req === undefined) {
        // Nunjucks gives imported macros a fresh context unless the import uses "with context".
        throw new Error(`Template global ${name}() has no request: import the macro that calls it "with context"`);
      }
      return call(req, ...args);
    });
  }

  addFilter(name: string, filter: TemplateFilter): void {
    this.environment.addFilter(name, filter as (...args: unknown[]) => unknown);
  }

  /** Renders a whole template. */
  render(name: string, context: TemplateContext, req: Request): string {
    return this.environment.render(name, { ...context, [REQUEST_KEY]: req });
  }

  /** Renders one named block of a template, looking it up through `{% extends %}` parents. */
  renderBlock(name: string, block: string, context: TemplateContext, req: Request): string {
    return renderBlock(this.environment, name, block, { ...context, [REQUEST_KEY]: req });
  }
}

/** Marks a string as safe HTML, so autoescaping leaves it as it is. Escape any user input first. */
export function markSafe(html: string): unknown {
  return new nunjucks.runtime.SafeString(html);
}

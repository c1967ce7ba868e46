import { callableClass } from "../app/callable.js";

/** Variables passed to a template. */
export type TemplateContext = Readonly<Record<string, unknown>>;

/** Response options of a rendered template or fragment. */
export interface RenderOptions {
  /** Default 200. */
  status?: number;
  /** Extra headers, such as `HX-Retarget` or `HX-Trigger` for htmx; validated like any header. */
  headers?: Readonly<Record<string, string>>;
}

function checkStatus(status: number): number {
  if (!Number.isInteger(status) || status < 100 || status > 599) {
    throw new RangeError(`Template status must be an integer from 100 to 599, got ${String(status)}`);
  }
  return status;
}

const NO_HEADERS: Readonly<Record<string, string>> = Object.freeze({});

class TemplateResult {
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;

  /** Creates a handler result that renders the template `name` with `context` as a full page. */
  constructor(
    readonly name: string,
    readonly context: TemplateContext = {},
    options: RenderOptions = {},
  ) {
    this.status = checkStatus(options.status ?? 200);
    this.headers = options.headers ?? NO_HEADERS;
  }
}

class FragmentResult {
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;

  /**
   * Creates a handler result that renders only the block `block` of template `name`, for htmx
   * swaps. The block may be defined in a template that `name` extends.
   */
  constructor(
    readonly name: string,
    readonly block: string,
    readonly context: TemplateContext = {},
    options: RenderOptions = {},
  ) {
    this.status = checkStatus(options.status ?? 200);
    this.headers = options.headers ?? NO_HEADERS;
  }
}

/** Renders a template; callable with or without `new`. */
export const Template = callableClass(TemplateResult);
export type Template = TemplateResult;

/** Renders one named block of a template; callable with or without `new`. */
export const Fragment = callableClass(FragmentResult);
export type Fragment = FragmentResult;

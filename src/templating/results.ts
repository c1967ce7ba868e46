import { callableClass } from "../app/callable.js";

/** Variables passed to a template. */
export type TemplateContext = Readonly<Record<string, unknown>>;

class TemplateResult {
  /** A handler result that renders the template `name` with `context` as a full page. */
  constructor(
    readonly name: string,
    readonly context: TemplateContext = {},
    readonly status = 200,
  ) {}
}

class FragmentResult {
  /**
   * A handler result that renders only the block `block` of template `name`, for htmx swaps.
   * The block may be defined in a template that `name` extends.
   */
  constructor(
    readonly name: string,
    readonly block: string,
    readonly context: TemplateContext = {},
    readonly status = 200,
  ) {}
}

/** Renders a template; callable with or without `new`. */
export const Template = callableClass(TemplateResult);
export type Template = TemplateResult;

/** Renders one named block of a template; callable with or without `new`. */
export const Fragment = callableClass(FragmentResult);
export type Fragment = FragmentResult;

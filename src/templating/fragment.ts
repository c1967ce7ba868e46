import nunjucks from "nunjucks";

/*
 * Nunjucks has no public API for rendering one block, so this file builds one from two
 * documented pieces: a compiled template exposes its blocks as `blocks`, and a Template can be
 * created from precompiled code (`{ type: "code", obj }`). The synthetic template's root
 * function registers the blocks of every ancestor, as compiled `{% extends %}` code does, and
 * then renders only the requested block, so `{{ super() }}` works inside it.
 */

interface BlockFunction {
  (env: unknown, context: unknown, frame: unknown, runtime: unknown, callback: unknown): void;
}

interface CompiledTemplate {
  blocks: Record<string, BlockFunction>;
  tmplStr?: string;
  path?: string;
}

interface BlockContext {
  addBlock(name: string, block: BlockFunction): void;
  getBlock(name: string): BlockFunction;
}

interface ParsedNode {
  typename: string;
  children?: ParsedNode[];
  template?: { typename: string; value?: unknown };
}

interface NunjucksInternals {
  parser: { parse(source: string, extensions: unknown, options: unknown): ParsedNode };
}

interface EnvironmentInternals {
  extensionsList: unknown;
  opts: unknown;
}

const parentNames = new WeakMap<object, string | null>();

function parentTemplateName(environment: nunjucks.Environment, template: CompiledTemplate): string | null {
  const cached = parentNames.get(template);
  if (cached !== undefined) return cached;

  const internals = environment as unknown as EnvironmentInternals;
  const root = (nunjucks as unknown as NunjucksInternals).parser.parse(
    template.tmplStr ?? "",
    internals.extensionsList,
    internals.opts,
  );
  const extendsNode = root.children?.find((node) => node.typename === "Extends");
  let parent: string | null = null;
  if (extendsNode !== undefined) {
    if (extendsNode.template?.typename !== "Literal" || typeof extendsNode.template.value !== "string") {
      throw new Error(`Template ${template.path ?? ""}: fragments need {% extends %} with a literal template name`);
    }
    parent = extendsNode.template.value;
  }
  parentNames.set(template, parent);
  return parent;
}

/** Renders the block `block` of template `name`, resolving blocks through its ancestors. */
export function renderBlock(
  environment: nunjucks.Environment,
  name: string,
  block: string,
  context: Record<string, unknown>,
): string {
  const template = environment.getTemplate(name, true) as unknown as CompiledTemplate;
  const ancestors: CompiledTemplate[] = [];
  const seen = new Set<string>([name]);
  for (let current = template; ;) {
    const parent = parentTemplateName(environment, current);
    if (parent === null) break;
    if (seen.has(parent)) throw new Error(`Template ${name} extends itself through ${parent}`);
    seen.add(parent);
    current = environment.getTemplate(parent, true) as unknown as CompiledTemplate;
    ancestors.push(current);
  }

  const props: Record<string, unknown> = {
    root: function renderOneBlock(
      env: unknown,
      ctx: BlockContext,
      frame: unknown,
      runtime: unknown,
      callback: (error: Error) => void,
    ) {
      for (const ancestor of ancestors) {
        for (const [blockName, blockFunction] of Object.entries(ancestor.blocks))
          ctx.addBlock(blockName, blockFunction);
      }
      let blockFunction: BlockFunction;
      try {
        blockFunction = ctx.getBlock(block);
      } catch {
        callback(new Error(`Template ${name} has no block "${block}", neither itself nor through {% extends %}`));
        return;
      }
      blockFunction(env, ctx, frame, runtime, callback);
    },
  };
  for (const [blockName, blockFunction] of Object.entries(template.blocks)) props[`b_${blockName}`] = blockFunction;

  const synthetic = new nunjucks.Template({ type: "code", obj: props } as never, environment, template.path);
  return synthetic.render(context);
}

/**
 * Makes a class callable without `new`, so results read as in the design: both
 * `Template("page.html", context)` and `new Template(...)` build an instance, and
 * `instanceof` keeps working because the proxy forwards everything else to the class.
 */
export function callableClass<Args extends unknown[], Instance>(
  target: new (...args: Args) => Instance,
): { new (...args: Args): Instance; (...args: Args): Instance; prototype: Instance } {
  return new Proxy(target, {
    apply(cls, _thisArg, args: Args) {
      return new cls(...args);
    },
  }) as never;
}

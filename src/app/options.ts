import { ConfigurationError } from "./errors.js";

function editDistance(a: string, b: string): number {
  const previous = Array.from({ length: b.length + 1 }, (_, index) => index);
  for (let i = 1; i <= a.length; i++) {
    let diagonal = previous[0] as number;
    previous[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const above = previous[j] as number;
      const cost = a[i - 1]?.toLowerCase() === b[j - 1]?.toLowerCase() ? 0 : 1;
      previous[j] = Math.min(above + 1, (previous[j - 1] as number) + 1, diagonal + cost);
      diagonal = above;
    }
  }
  return previous[b.length] as number;
}

/**
 * Throws a {@link ConfigurationError} for any key of `options` that `known` does not list,
 * suggesting the closest known key, so a misspelled option never silently keeps its default.
 */
export function checkOptionKeys(owner: string, options: object | undefined, known: readonly string[]): void {
  if (options === undefined) return;
  for (const key of Object.keys(options)) {
    if (known.includes(key)) continue;
    let best: string | undefined;
    let bestDistance = Infinity;
    for (const candidate of known) {
      // A key that starts another, such as idleTimeout for idleTimeoutSeconds, counts as a near miss.
      const prefix = candidate.toLowerCase().startsWith(key.toLowerCase()) && key.length >= 4;
      const distance = prefix ? 1 : editDistance(key, candidate);
      if (distance < bestDistance) {
        best = candidate;
        bestDistance = distance;
      }
    }
    const hint =
      best !== undefined && bestDistance <= Math.max(2, Math.floor(key.length / 3)) ? ` Did you mean ${best}?` : "";
    throw new ConfigurationError(`Unknown option ${key} for ${owner}.${hint} Known options: ${known.join(", ")}`);
  }
}

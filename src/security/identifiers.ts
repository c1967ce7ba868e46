/**
 * Normalises a login identifier such as a username or email address, so variants that a
 * person would read as the same name count as one: surrounding whitespace is trimmed,
 * Unicode compatibility forms are unified (NFKC, so full-width "ａｌｉｃｅ" is "alice"), and
 * letters are lower-cased with the default Unicode case mapping. Use the result both to
 * look users up and as the lockout key.
 */
export function normalizeIdentifier(identifier: string): string {
  return identifier.trim().normalize("NFKC").toLowerCase().normalize("NFKC");
}

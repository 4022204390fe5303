/**
 * Repairs a `from` query value sent without URL-encoding: "?from=+9198…" decodes to " 9198…", so a
 * single leading space before a digit was a "+". Other surrounding whitespace is trimmed.
 */
export function normalizeSender (raw: string): string {
  const repaired = /^ \d/.test(raw) ? `+${raw.slice(1)}` : raw
  return repaired.trim()
}

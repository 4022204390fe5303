/**
 * Case folding for search: upper then lower maps "É"/"é", "ß"/"SS" and the like to one form, and
 * final sigma joins σ. Applied to both the text and the query, so matching is a plain substring test.
 */
export function foldCase (s: string): string {
  return s.toUpperCase().toLowerCase().replaceAll('ς', 'σ')
}

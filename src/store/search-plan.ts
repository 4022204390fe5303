/**
 * Relative cost of one index candidate (a trigram doclist or bitmap entry, its row lookup, the sort)
 * against one row of an ordered scan that folds and tests the text; measured with bench/ at 1M rows.
 */
const CANDIDATE_COST = 2.5

/**
 * Whether a search should read its `matches` candidates from the trigram index (few) rather than scan
 * `rows` rows in time order, testing each until rows up to `pageEnd` are found (many: the scan stops
 * early, after about pageEnd × rows / matches of them). Both engines decide by this rule.
 */
export function candidatesCheaper (matches: number, rows: number, pageEnd: number): boolean {
  return matches * CANDIDATE_COST < pageEnd * (rows + 1) / Math.max(matches, 1)
}

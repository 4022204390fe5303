/**
 * How folded text goes into the trigram index and how a folded query comes out of it.
 *
 * FTS5's trigram tokenizer turns a quoted phrase of three or more characters into consecutive trigrams,
 * so a phrase match is exactly "contains this substring". Shorter queries have no trigram: for those,
 * each indexed text ends with two SENTINEL characters, so every occurrence of a 1- or 2-character string
 * starts some indexed trigram, and the index's vocabulary lists those trigrams by prefix.
 * https://www.sqlite.org/fts5.html#the_trigram_tokenizer
 */

/** Padding after each indexed text; a query that contains it is answered by a plain scan. */
export const SENTINEL = '\u0001'

/** What the indexer stores for one message's folded text. */
export const indexedText = (folded: string): string => folded + SENTINEL + SENTINEL

/**
 * FTS5 reads U+FFFE/U+FFFF (and anything malformed) as U+FFFD, so a query containing any of those,
 * NUL or the sentinel could match differently in the index than in the text; such queries, and
 * strings with lone surrogates, skip the index and scan.
 */
const UNINDEXABLE = /[\u0000\u0001\uFFFD\uFFFE\uFFFF]|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/ // eslint-disable-line no-control-regex

/** False for a folded query the index cannot answer exactly (see above). */
export const isIndexable = (folded: string): boolean => !UNINDEXABLE.test(folded)

/** Length in code points, the unit of both the trigram tokenizer and SQLite's instr(). */
export const codePoints = (s: string): number => {
  let n = 0
  for (const _ of s) n++ // eslint-disable-line @typescript-eslint/no-unused-vars
  return n
}

/** An FTS5 query for one literal string: a quoted phrase, inner quotes doubled. */
export const phrase = (s: string): string => `"${s.replaceAll('"', '""')}"`

/** The inclusive upper bound of index terms that start with `prefix` (trigrams: 3 code points). */
export const prefixUpperBound = (prefix: string): string => prefix + '\u{10FFFF}'.repeat(3 - codePoints(prefix))

/** Every distinct 1- and 2-character substring of a folded text (code points). */
export function shortGrams (folded: string): Set<string> {
  const grams = new Set<string>()
  let previous: string | undefined
  for (const c of folded) {
    grams.add(c)
    if (previous !== undefined) grams.add(previous + c)
    previous = c
  }
  return grams
}

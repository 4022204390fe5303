import type Database from 'better-sqlite3'
import { foldCase } from '../fold-case.ts'

/**
 * How folded text goes into the trigram index and how a folded query comes out of it.
 *
 * FTS5's trigram tokenizer turns a quoted phrase of three or more characters into consecutive trigrams,
 * so a phrase match is exactly "contains this substring". Shorter queries have no trigram: for those,
 * each indexed text ends with two SENTINEL characters, so every occurrence of a 1- or 2-character string
 * starts some indexed trigram, and the index's vocabulary lists those trigrams by prefix.
 * https://www.sqlite.org/fts5.html#the_trigram_tokenizer
 */

/**
 * SQL `fold_case(text)`: the same folding as queries get (store/fold-case.ts), for every connection that
 * tests text, the store's and the scan thread's, so both answer a search the same way.
 */
export function registerFoldCase (db: Database.Database): void {
  db.function('fold_case', { deterministic: true }, (s: unknown) => typeof s === 'string' ? foldCase(s) : null)
}

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

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/

/** True for a string that is not well-formed UTF-16, which no stored text can contain. */
export const hasLoneSurrogate = (s: string): boolean => LONE_SURROGATE.test(s)

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

const ASCII_SLOTS = 128 + 128 * 128

/**
 * Counts, over many texts, how many contain each 1- and 2-character string (code points). Plainly:
 * for each text, the set of its substrings of length 1 and 2, added up. ASCII grams (most of them) are counted in typed arrays instead of
 * building strings and sets, which made this the indexer's most expensive step.
 */
export class GramCounter {
  /** ASCII 1-gram c at [c]; 2-gram ab at [128 + a * 128 + b]. */
  readonly #counts = new Int32Array(ASCII_SLOTS)
  /** The text number that last counted a slot, so each text counts a gram once. */
  readonly #seenIn = new Int32Array(ASCII_SLOTS)
  readonly #other = new Map<string, number>()
  #text = 0

  add (folded: string): void {
    const text = ++this.#text
    const counts = this.#counts
    const seenIn = this.#seenIn
    let seenOther: Set<string> | undefined
    const other = (gram: string) => {
      seenOther ??= new Set()
      if (seenOther.has(gram)) return
      seenOther.add(gram)
      this.#other.set(gram, (this.#other.get(gram) ?? 0) + 1)
    }
    let previous = -1 // code point
    for (let i = 0; i < folded.length; i++) {
      let code = folded.charCodeAt(i)
      if (code >= 0xD800 && code <= 0xDBFF && i + 1 < folded.length) {
        const low = folded.charCodeAt(i + 1)
        if (low >= 0xDC00 && low <= 0xDFFF) {
          code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00)
          i++
        }
      }
      if (code < 128) {
        if (seenIn[code] !== text) { seenIn[code] = text; counts[code]!++ }
        if (previous >= 0 && previous < 128) {
          const slot = 128 + previous * 128 + code
          if (seenIn[slot] !== text) { seenIn[slot] = text; counts[slot]!++ }
        } else if (previous >= 0) {
          other(String.fromCodePoint(previous, code))
        }
      } else {
        other(String.fromCodePoint(code))
        if (previous >= 0) other(String.fromCodePoint(previous, code))
      }
      previous = code
    }
  }

  /** Each gram with the number of texts that contained it. */
  * entries (): Generator<[string, number]> {
    for (let slot = 0; slot < ASCII_SLOTS; slot++) {
      const n = this.#counts[slot]!
      if (n === 0) continue
      yield [slot < 128 ? String.fromCharCode(slot) : String.fromCharCode((slot - 128) >> 7, (slot - 128) & 127), n]
    }
    yield * this.#other
  }
}

import type { Params } from './scanner.ts'

/** A search's indexed matches per hour of their instant (a ts_key's first 13 characters), from hour `low` on. */
export interface HourCounts {
  low: string
  /** The watermark they were counted at: they cover every indexed row up to it. */
  through: number
  hours: Map<string, number>
}

/** The read that brings a search's hour counts up to date; its rows are `{ hour, n }`. */
export interface HoursUpdate {
  sql: string
  params: Params
  /** Rows to read, at most (the watermark's advance, or every row since `low` for a first count). */
  rows: number
  /** The counts it adds to (null: it counts from scratch). */
  base: HourCounts | null
  /** The counts it replaces, and the cache's generation, when it was planned: if either changed, it is dropped. */
  current: HourCounts | null
  generation: number
}

/** Most searches whose hour counts are kept (least recently used first out): each holds up to one entry per hour of data. */
const CACHED_SEARCHES = 16

const COUNT = 'SELECT substr(m.ts_key, 1, 13) AS hour, count(*) AS n FROM messages m'
const MATCHES = 'instr(fold_case(m.text), @q) > 0 GROUP BY hour'
/** Every indexed row from `low` on, through the time index. */
const FIRST_COUNT = `${COUNT} INDEXED BY messages_ts_key WHERE m.ts_key >= @low AND m.rowid <= @w AND ${MATCHES}`
/** The rows indexed since the last count, a rowid range (NOT INDEXED keeps the planner on it). */
const NEWER_ROWS = `${COUNT} NOT INDEXED WHERE m.rowid > @through AND m.rowid <= @w AND m.ts_key >= @low AND ${MATCHES}`

/**
 * Per-hour counts of a common search's indexed matches, so that its total with `since` is a sum of
 * hours plus an exact count inside since's own hour, instead of testing every row since that instant.
 * Counted once per search by a scan from since's hour on (the scan thread's work, like any scan), then
 * kept current by testing only the rows indexed since. Forgotten when rows are deleted.
 */
export class SearchHours {
  readonly #entries = new Map<string, HourCounts>()
  #generation = 0

  /** The hour counts of the folded search `q`, covering `since`'s hour and current at watermark `w`, or the read that makes them so. */
  get (q: string, since: string, w: number, indexedRows: number): HourCounts | HoursUpdate {
    const low = since.slice(0, 13)
    const entry = this.#entries.get(q)
    const generation = this.#generation
    if (entry === undefined || low < entry.low || entry.through > w) {
      return { sql: FIRST_COUNT, params: { q, low, w }, rows: indexedRows, base: null, current: entry ?? null, generation }
    }
    if (entry.through < w) {
      const params = { q, low: entry.low, through: entry.through, w }
      return { sql: NEWER_ROWS, params, rows: w - entry.through, base: entry, current: entry, generation }
    }
    this.#entries.delete(q)
    this.#entries.set(q, entry)
    return entry
  }

  /** Applies an update's rows, unless the counts changed since it was planned (then a later read asks again). */
  apply (update: HoursUpdate, rows: ReadonlyArray<{ hour: string, n: number }>): void {
    const q = update.params.q as string
    if (update.generation !== this.#generation || (this.#entries.get(q) ?? null) !== update.current) return
    const hours = new Map(update.base?.hours)
    for (const { hour, n } of rows) hours.set(hour, (hours.get(hour) ?? 0) + n)
    this.#entries.delete(q)
    this.#entries.set(q, { low: update.params.low as string, through: update.params.w as number, hours })
    if (this.#entries.size > CACHED_SEARCHES) this.#entries.delete(this.#entries.keys().next().value!)
  }

  /** Rows were deleted: every count may be too high. */
  forget (): void {
    this.#entries.clear()
    this.#generation++
  }
}

/** Matches in hours after `hour`. */
export function matchesAfterHour (counts: HourCounts, hour: string): number {
  let n = 0
  for (const [h, count] of counts.hours) if (h > hour) n += count
  return n
}

import type Database from 'better-sqlite3'
import { lowerBound } from '../../lib/lower-bound.ts'

/** A sender's rows in the tail: rowids ascending, with their instant keys at the same index. */
interface SenderTail {
  rows: number[]
  keys: string[]
}

/** The second bucket of an instant key (`YYYY-MM-DDTHH:MM:SS`), as time_counts level 2 has it. */
const secondOf = (key: string) => key.slice(0, 19)

/**
 * The rows past the indexer's watermark ("the tail"), summarised in memory: how many, per sender (rowids
 * and instant keys), and per second. The store adds each row as its commit returns and the indexer takes
 * rows out as it indexes them, so totals, sender pages and counts, `since` counts and /stats merge the
 * tail without reading it: after a burst of deliveries, the tail is tens of thousands of rows, and
 * counting them in SQL on every read cost each dashboard request milliseconds while it lasted.
 * Memory: a rowid and a 30-character key per tail row (the tail is kept near the indexer's maxTail).
 */
export class TailTally {
  #rows = 0
  readonly #senders = new Map<string, SenderTail>()
  readonly #seconds = new Map<string, number>()

  /** The tail past `watermark` as `db` holds it now: at start, after a slice this store did not see, or in an export's snapshot. */
  static read (db: Database.Database, watermark: number): TailTally {
    const tally = new TailTally()
    const rows = db.prepare('SELECT rowid, from_msisdn, ts_key FROM messages WHERE rowid > ? ORDER BY rowid').raw()
      .iterate(watermark) as IterableIterator<[number, string, string]>
    for (const [row, from, key] of rows) tally.add(row, from, key)
    return tally
  }

  /** A committed row; rows arrive in rowid order. */
  add (row: number, from: string, key: string): void {
    this.#rows++
    let sender = this.#senders.get(from)
    if (sender === undefined) this.#senders.set(from, sender = { rows: [], keys: [] })
    sender.rows.push(row)
    sender.keys.push(key)
    const second = secondOf(key)
    this.#seconds.set(second, (this.#seconds.get(second) ?? 0) + 1)
  }

  /** Takes tail rows out: the indexer indexed them, or retention deleted them. */
  remove (rows: ReadonlyArray<{ row: number, from_msisdn: string, ts_key: string }>): void {
    for (const r of rows) {
      const sender = this.#senders.get(r.from_msisdn)!
      const at = lowerBound(sender.rows, r.row)
      sender.rows.splice(at, 1)
      sender.keys.splice(at, 1)
      if (sender.rows.length === 0) this.#senders.delete(r.from_msisdn)
      const second = secondOf(r.ts_key)
      const n = this.#seconds.get(second)! - 1
      if (n === 0) this.#seconds.delete(second)
      else this.#seconds.set(second, n)
    }
    this.#rows -= rows.length
  }

  get rows (): number {
    return this.#rows
  }

  /** Tail rows per sender. */
  * senderCounts (): IterableIterator<[string, number]> {
    for (const [from, sender] of this.#senders) yield [from, sender.rows.length]
  }

  /** A sender's tail rows whose key is at least `since` (every one without it). */
  senderCount (from: string, since?: string): number {
    const sender = this.#senders.get(from)
    if (sender === undefined) return 0
    if (since === undefined) return sender.rows.length
    return sender.keys.reduce((n, key) => key >= since ? n + 1 : n, 0)
  }

  /**
   * The rowids of a sender's tail rows with a key of at least `low` that can be among the first `first`
   * rows in time order: all of them when `first` is undefined (a filter the keys cannot decide, such as
   * a search, may drop some), else those whose key is at most the `first`-th smallest key, ties included
   * (their order within a key is the message id's, which only the page query knows). Rows at `low` itself
   * do not count towards `first`: a cursor's key may exclude some of them.
   */
  senderRows (from: string, low: string, first?: number): number[] {
    const sender = this.#senders.get(from)
    if (sender === undefined) return []
    const keys = sender.keys.filter((key) => key >= low)
    const needed = first === undefined ? Infinity : first + keys.reduce((n, key) => key === low ? n + 1 : n, 0)
    const high = keys.length <= needed ? undefined : keys.sort()[needed - 1]!
    return sender.rows.filter((_, i) => {
      const key = sender.keys[i]!
      return key >= low && (high === undefined || key <= high)
    })
  }

  /** Tail rows in seconds after `second` (a key's first 19 characters). */
  rowsAfterSecond (second: string): number {
    let n = 0
    for (const [bucket, count] of this.#seconds) if (bucket > second) n += count
    return n
  }
}

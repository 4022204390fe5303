import type Database from 'better-sqlite3'
import type { Statement } from 'better-sqlite3'
import { RowTally, type Indexer, type ModelRow } from './indexer.ts'

/**
 * Deletes the oldest messages (retention) and takes them out of the read models in the same
 * transaction, the indexer's work in reverse, so every read stays exact: a row past the watermark (the
 * tail) is only in `messages`; an indexed row also leaves sender_rows, its sender's count (and the
 * sender itself at zero), its day, minute and second counts, the 1- and 2-character gram counts, and the
 * FTS index, which for a contentless table needs the exact text it was given.
 * https://www.sqlite.org/fts5.html#the_delete_command
 *
 * The watermark comes down to the newest remaining rowid when the newest rows were deleted: SQLite
 * gives the next insert max(rowid) + 1, which must land past the watermark (in the tail), or the new
 * row would pass for indexed without being in the read models.
 * https://www.sqlite.org/autoinc.html
 */
export class Deleter {
  readonly #db: Database.Database
  readonly #indexer: Indexer
  readonly #s: Record<'oldest' | 'message' | 'senderRow' | 'senderCount' | 'senderGone' | 'time' | 'timeGone' |
  'gram' | 'gramGone' | 'search' | 'newest' | 'state', Statement>

  constructor (db: Database.Database, indexer: Indexer) {
    this.#db = db
    this.#indexer = indexer
    this.#s = {
      // The time-order index gives the oldest rows first, without a sort.
      oldest: db.prepare(`SELECT rowid AS row, message_id, from_msisdn, ts_key, text FROM messages
        WHERE ts_key < ? ORDER BY ts_key, message_id LIMIT ?`),
      message: db.prepare('DELETE FROM messages WHERE rowid = ?'),
      senderRow: db.prepare('DELETE FROM sender_rows WHERE from_msisdn = ? AND ts_key = ? AND message_id = ?'),
      senderCount: db.prepare('UPDATE sender_counts SET n = n - ? WHERE from_msisdn = ?'),
      senderGone: db.prepare('DELETE FROM sender_counts WHERE from_msisdn = ? AND n <= 0'),
      time: db.prepare('UPDATE time_counts SET n = n - ? WHERE level = ? AND bucket = ?'),
      timeGone: db.prepare('DELETE FROM time_counts WHERE level = ? AND bucket = ? AND n <= 0'),
      gram: db.prepare('UPDATE gram_counts SET n = n - ? WHERE gram = ?'),
      gramGone: db.prepare('DELETE FROM gram_counts WHERE gram = ? AND n <= 0'),
      search: db.prepare('INSERT INTO search_index (search_index, rowid, folded) VALUES (\'delete\', ?, ?)'),
      newest: db.prepare('SELECT coalesce(max(rowid), 0) FROM messages').pluck(),
      state: db.prepare(`UPDATE read_state SET indexed_through = ?, indexed_rows = indexed_rows - ?,
        senders = senders - ? WHERE id = 1`)
    }
  }

  /**
   * Deletes up to `limit` messages whose ts_key is below `before`, oldest first, in one transaction;
   * returns how many. Throws what SQLite throws, and then nothing was deleted.
   */
  deleteBefore (before: string, limit: number): number {
    // Like the indexer's: a deletion lost to a power cut comes back whole (rows and read models in one
    // transaction) and is simply done again by the next sweep, so it need not wait for its own fsync;
    // the next acknowledged (synchronous=FULL) commit syncs it. https://www.sqlite.org/pragma.html#pragma_synchronous
    this.#db.pragma('synchronous = NORMAL')
    let deleted: { rows: number, tailRows: ModelRow[] }
    try {
      deleted = this.#transaction(before, limit)
    } finally {
      this.#db.pragma('synchronous = FULL')
    }
    if (deleted.rows > 0) this.#indexer.deleted(deleted.tailRows)
    return deleted.rows
  }

  /** Deletes in one transaction; returns how many rows, and those of them that were in the tail. */
  #transaction (before: string, limit: number): { rows: number, tailRows: ModelRow[] } {
    return this.#db.transaction(() => {
      const rows = this.#s.oldest.all(before, limit) as ModelRow[]
      const tailRows: ModelRow[] = []
      if (rows.length === 0) return { rows: 0, tailRows }
      const watermark = this.#indexer.state.indexedThrough
      const tally = new RowTally()
      const { senders, times, grams } = tally
      let indexed = 0
      for (const r of rows) {
        this.#s.message.run(r.row)
        if (r.row > watermark) { // tail: not in the read models yet
          tailRows.push(r)
          continue
        }
        indexed++
        this.#s.senderRow.run(r.from_msisdn, r.ts_key, r.message_id)
        const entry = tally.add(r)
        if (entry !== null) this.#s.search.run(r.row, entry)
      }
      let goneSenders = 0
      for (const [from, n] of senders) {
        this.#s.senderCount.run(n, from)
        goneSenders += this.#s.senderGone.run(from).changes
      }
      times.forEach((buckets, level) => {
        for (const [bucket, n] of buckets) {
          this.#s.time.run(n, level, bucket)
          this.#s.timeGone.run(level, bucket)
        }
      })
      for (const [gram, n] of grams.entries()) {
        this.#s.gram.run(n, gram)
        this.#s.gramGone.run(gram)
      }
      const newest = this.#s.newest.get() as number
      // Lowered when the newest rows were deleted: then every row above it was deleted, tail rows included.
      this.#s.state.run(Math.min(watermark, newest), indexed, goneSenders)
      return { rows: rows.length, tailRows }
    }).immediate()
  }
}

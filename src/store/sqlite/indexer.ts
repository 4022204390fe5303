import type Database from 'better-sqlite3'
import type { Statement } from 'better-sqlite3'
import { foldCase } from '../fold-case.ts'
import { GramCounter, indexedText } from './search-text.ts'
import { TailTally } from './tail-tally.ts'

/** The committed read-model state: every messages row with rowid ≤ indexedThrough is in the read models. */
export interface ReadState {
  indexedThrough: number
  indexedRows: number
  senders: number
}

/** The time buckets a ts_key counts in: day, minute and second (time_counts levels 0, 1, 2). */
export const TIME_LEVELS = [10, 16, 19] as const

/** A row as the read models see it. */
export interface ModelRow {
  row: number
  message_id: string
  from_msisdn: string
  ts_key: string
  text: string | null
}

/**
 * What a set of rows adds to the read models' counts (the indexer) or takes from them (deleter.ts): per
 * sender, per day/minute/second bucket, per 1–2 character gram.
 */
export class RowTally {
  readonly senders = new Map<string, number>()
  readonly times = TIME_LEVELS.map(() => new Map<string, number>())
  readonly grams = new GramCounter()

  /** Counts one row; returns its folded text (the search index's entry), or null when it has no text. */
  add (r: ModelRow): string | null {
    this.senders.set(r.from_msisdn, (this.senders.get(r.from_msisdn) ?? 0) + 1)
    TIME_LEVELS.forEach((length, level) => {
      const bucket = r.ts_key.slice(0, length)
      this.times[level]!.set(bucket, (this.times[level]!.get(bucket) ?? 0) + 1)
    })
    if (r.text === null) return null
    const folded = foldCase(r.text)
    this.grams.add(folded)
    return indexedText(folded)
  }
}

/** An indexed row as the tail tally needs it: what crosses back from the index thread. */
export interface IndexedRow {
  row: number
  from_msisdn: string
  ts_key: string
}

/** What one slice did: the state it started from and the one it committed, and the rows it indexed (oldest first). */
export interface Slice {
  before: ReadState
  after: ReadState
  rows: IndexedRow[]
}

/**
 * Writes the read models of migration 2 for rows past the watermark, one transaction per slice, on the
 * connection it is given: the store's own (in-memory databases, catchUp()) or the index thread's
 * (index-worker.ts). It keeps no state between slices: each reads the watermark inside its transaction,
 * so another connection's writes to read_state (retention, deleter.ts) are always seen.
 *
 * These transactions hold only data derived from `messages`, so they commit with synchronous=NORMAL:
 * a power cut may lose the newest one, and then its watermark is lost with it and the same rows are
 * indexed again. The next acknowledged (synchronous=FULL) commit syncs the whole WAL, these frames included.
 * https://www.sqlite.org/pragma.html#pragma_synchronous
 */
export class IndexWriter {
  readonly #db: Database.Database
  readonly #s: Record<'tail' | 'senderRow' | 'senderCount' | 'senderInsert' | 'senderUpdate' | 'time' | 'gram' |
  'search' | 'state' | 'readState', Statement>

  constructor (db: Database.Database) {
    this.#db = db
    this.#s = {
      tail: db.prepare(`SELECT rowid AS row, message_id, from_msisdn, ts_key, text FROM messages
        WHERE rowid > ? ORDER BY rowid LIMIT ?`),
      senderRow: db.prepare('INSERT INTO sender_rows (from_msisdn, ts_key, message_id, row) VALUES (?, ?, ?, ?)'),
      senderCount: db.prepare('SELECT n FROM sender_counts WHERE from_msisdn = ?').pluck(),
      senderInsert: db.prepare('INSERT INTO sender_counts (from_msisdn, n) VALUES (?, ?)'),
      senderUpdate: db.prepare('UPDATE sender_counts SET n = n + ? WHERE from_msisdn = ?'),
      time: db.prepare(`INSERT INTO time_counts (level, bucket, n) VALUES (?, ?, ?)
        ON CONFLICT (level, bucket) DO UPDATE SET n = n + excluded.n`),
      gram: db.prepare(`INSERT INTO gram_counts (gram, n) VALUES (?, ?)
        ON CONFLICT (gram) DO UPDATE SET n = n + excluded.n`),
      search: db.prepare('INSERT INTO search_index (rowid, folded) VALUES (?, ?)'),
      state: db.prepare(`UPDATE read_state SET indexed_through = ?, indexed_rows = indexed_rows + ?,
        senders = senders + ? WHERE id = 1`),
      readState: db.prepare(`SELECT indexed_through AS indexedThrough, indexed_rows AS indexedRows, senders
        FROM read_state WHERE id = 1`)
    }
  }

  /** The committed state, as this connection sees it now. */
  readState (): ReadState {
    return this.#s.readState.get() as ReadState
  }

  /**
   * Indexes up to `maxRows` rows past the committed watermark in one transaction (none: caught up, and
   * nothing is written). Throws what SQLite throws; the watermark then stays where it was.
   */
  write (maxRows: number): Slice {
    this.#db.pragma('synchronous = NORMAL')
    try {
      return this.#db.transaction((): Slice => {
        const before = this.readState()
        const rows = this.#s.tail.all(before.indexedThrough, maxRows) as ModelRow[]
        if (rows.length === 0) return { before, after: before, rows: [] }
        const tally = new RowTally()
        const { senders, times, grams } = tally
        for (const r of rows) {
          this.#s.senderRow.run(r.from_msisdn, r.ts_key, r.message_id, r.row)
          const entry = tally.add(r)
          if (entry !== null) this.#s.search.run(r.row, entry)
        }
        let newSenders = 0
        for (const [from, n] of senders) {
          if (this.#s.senderCount.get(from) === undefined) {
            this.#s.senderInsert.run(from, n)
            newSenders++
          } else {
            this.#s.senderUpdate.run(n, from)
          }
        }
        times.forEach((buckets, level) => {
          for (const [bucket, n] of buckets) this.#s.time.run(level, bucket, n)
        })
        for (const [gram, n] of grams.entries()) this.#s.gram.run(gram, n)
        const last = rows[rows.length - 1]!.row
        this.#s.state.run(last, rows.length, newSenders)
        return {
          before,
          after: { indexedThrough: last, indexedRows: before.indexedRows + rows.length, senders: before.senders + newSenders },
          rows: rows.map((r) => ({ row: r.row, from_msisdn: r.from_msisdn, ts_key: r.ts_key }))
        }
      }).immediate()
    } finally {
      // Back to the durability the acknowledgement path promises, whatever happened above.
      this.#db.pragma('synchronous = FULL')
    }
  }
}

/**
 * The store's view of the read models: the committed watermark and the rows past it (the tail tally),
 * which reads merge (read-model.ts). Slices are written on this connection by step(), or on the index
 * thread's, whose outcome advanced() applies here.
 */
export class Indexer {
  readonly #db: Database.Database
  readonly #writer: IndexWriter
  #state: ReadState
  #tail: TailTally

  constructor (db: Database.Database) {
    this.#db = db
    this.#writer = new IndexWriter(db)
    this.#state = this.#writer.readState()
    this.#tail = TailTally.read(db, this.#state.indexedThrough)
  }

  /**
   * Retention (deleter.ts) committed: the state is read again, and the tail rows it deleted leave the
   * tally (the rest of the tail is unchanged, so it is not read again).
   */
  deleted (tailRows: readonly IndexedRow[]): void {
    this.#state = this.#writer.readState()
    this.#tail.remove(tailRows)
  }

  /** Reads the committed state and the tail again, after a slice this store does not know of (a thread that died) committed. */
  reload (): void {
    this.#state = this.#writer.readState()
    this.#tail = TailTally.read(this.#db, this.#state.indexedThrough)
  }

  /** The committed state; readers merge rows past `indexedThrough` from messages. */
  get state (): Readonly<ReadState> {
    return this.#state
  }

  /** The rows past the watermark, summarised (tail-tally.ts). */
  get tail (): TailTally {
    return this.#tail
  }

  /** A delivery's row was committed: it joins the tail. */
  committed (row: number, from: string, key: string): void {
    this.#tail.add(row, from, key)
  }

  /**
   * Indexes up to `maxRows` rows past the watermark in one transaction on this connection; returns how
   * many it indexed (0: caught up). Throws what SQLite throws; the watermark then stays where it was.
   */
  step (maxRows: number): number {
    const slice = this.#writer.write(maxRows)
    this.advanced(slice)
    return slice.rows.length
  }

  /**
   * A slice committed (here or on another connection): its rows leave the tail. It must have started
   * from this state; a slice that did not (a writer this store does not know of) is not applied, the
   * state is read again instead, so reads never count a row twice or miss one.
   */
  advanced (slice: Slice): void {
    if (slice.rows.length === 0) return
    if (slice.before.indexedThrough !== this.#state.indexedThrough || slice.before.indexedRows !== this.#state.indexedRows) {
      this.reload()
      return
    }
    this.#state = slice.after
    this.#tail.remove(slice.rows)
  }
}

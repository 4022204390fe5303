import { mkdirSync } from 'node:fs'
import { dirname } from 'node:path'
import Database, { type Statement } from 'better-sqlite3'
import type { Message } from '../../../schemas/messages.ts'
import type { Stats } from '../../../schemas/stats.ts'
import { GroupCommit } from '../group-commit.ts'
import { instantKey } from '../../lib/timestamp.ts'
import type { ExportFilter, MessageFilter, MessagesListing, MessageStore, PagePosition, SaveOutcome, StorageChecks } from '../port.ts'
import { Checkpointer } from './checkpointer.ts'
import { Deleter } from './deleter.ts'
import { IndexScheduler, type IndexingOptions } from './index-scheduler.ts'
import { IndexThread } from './index-thread.ts'
import { Indexer, type ReadState } from './indexer.ts'
import { SCHEMA_VERSION, migrate, schemaVersion } from './migrations.ts'
import { ReadModel } from './read-model.ts'
import { Scanner } from './scanner.ts'
import { TailTally } from './tail-tally.ts'
import { registerFoldCase } from './search-text.ts'
import { identityOf, type StoreGuard } from './file-guard.ts'
import { asUnavailable } from './unavailable.ts'
import { StoreUnavailableError } from '../errors.ts'

export interface SqliteStoreOptions {
  /** A file path, or ':memory:'. */
  filename: string
  /**
   * How long one statement waits for another process's write lock. Short on purpose: the wait blocks
   * the event loop, and a caller is better served by a quick 503 + Retry-After than by a stall.
   */
  busyTimeoutMs?: number
  /** Watches the files behind the connection (file-guard.ts): told when it opens and after each batch commit. */
  guard?: StoreGuard
  indexing?: IndexingOptions
  tuning?: TuningOptions
}

/** SQLite knobs measured with bench/ (docs/performance.md). */
export interface TuningOptions {
  /** WAL pages after which a commit also checkpoints (SQLite's default is 1000), when no checkpoint thread runs. */
  walAutocheckpointPages?: number
  /** The same bound while the checkpoint thread (checkpointer.ts) runs: only a backstop then. */
  walBackstopPages?: number
  /** How often the checkpoint thread copies the WAL into the database file; 0: no thread. */
  checkpointIntervalMs?: number
  /** Page cache per connection, KiB. */
  cacheSizeKiB?: number
  /**
   * Where indexer slices of a database file run: on the index thread at nice 19 ('low', Linux), at
   * normal priority ('normal'), or on the event loop ('none', as an in-memory database's always do).
   */
  indexThread?: 'low' | 'normal' | 'none'
}

const TUNING_DEFAULTS: Required<TuningOptions> = {
  walAutocheckpointPages: 1000,
  walBackstopPages: 10_000,
  checkpointIntervalMs: 100,
  cacheSizeKiB: 16_000,
  indexThread: 'low'
}

/**
 * Rows per export page: one synchronous read (well under a millisecond on an idle machine), after which
 * the event loop gets a turn, so deliveries are committed between pages. Each loop turn serves one page
 * per export, so smaller pages leave deliveries a larger share of a busy loop: at 1000 rows, ingest p99
 * on a starved machine rose 6x while exports ran back to back (bench --lifecycle, docs/lifecycle.md).
 */
const EXPORT_PAGE_ROWS = 250

/**
 * Slices on the index thread between two WAL checkpoints it runs with nothing pinned (see #slot). A
 * slice at a million rows writes ~2.7 MB of WAL; with a slot pinned around every slice, the WAL could
 * not start over while the indexer caught up: 275 MB after a 40,000-row backlog, against 45 MB with
 * slices on this connection. Every 8 slices keeps it near the 40 MB autocheckpoint backstop.
 */
const SLICES_PER_WAL_CHECKPOINT = 8

/**
 * The SQLite engine: one connection, statements prepared once, writes group-committed.
 *
 * The acknowledgement path writes only the row, its primary key and the time-order index (see
 * migrations.ts); the read models behind `from`, `q`, totals and /stats are brought up to date by the
 * Indexer in separate transactions when the writes pause (or the backlog grows past maxTail), and
 * ReadModel merges the not-yet-indexed rows in, so reads are exact at every moment.
 *
 * For a database file, those transactions ("slices") run on the index thread's own connection
 * (index-thread.ts), so the event loop keeps serving reads and deliveries while the indexer catches up.
 * Reads stay on this connection and take the watermark and tail tally from memory, so while a slice
 * runs, a slot keeps the two in step: the group commit is held (deliveries queue, nothing commits here)
 * and this connection holds a read transaction begun before the slice, so every read sees the database
 * exactly as the in-memory watermark and tally describe it. When the thread replies, the read
 * transaction ends, the slice's outcome is applied to the watermark and tally in the same turn, and
 * the queued deliveries commit. Every other write on this connection (retention, the readiness probe,
 * close) waits for the slot to end. SQLite has one writer at a time, so a delivery arriving during a
 * slice waits for it either way: held in memory here rather than blocking the event loop on the lock.
 */
export class SqliteStore implements MessageStore {
  readonly #db: Database.Database
  readonly #writes: GroupCommit<Message, SaveOutcome>
  readonly #indexer: Indexer
  readonly #reads: ReadModel
  readonly #deleter: Deleter
  readonly #filename: string
  /** The snapshot connections of exports in progress, closed with the store. */
  readonly #exports = new Set<Database.Database>()
  /** Runs scans off the event loop; null for an in-memory database, whose scans run here. */
  readonly #scanner: Scanner | null
  /** Checkpoints off the event loop; null for an in-memory database, which has no WAL. */
  readonly #checkpointer: Checkpointer | null
  readonly #indexing: IndexScheduler
  /** Writes indexer slices off the event loop; null for an in-memory database (or indexThread 'none'). */
  readonly #indexThread: IndexThread | null
  /** Pins this connection's read snapshot during a slot. */
  readonly #pin: Statement
  /** A slice may have committed without the state here knowing it (the thread died): read it again first. */
  #stale = false
  /** Slices on the index thread since its last checkpoint. */
  #slicesSinceCheckpoint = 0
  readonly #probe: { select: Statement, write: () => void }
  /** Highest rowid committed so far: the backlog is (indexedThrough, #newestRow]. */
  #newestRow = 0
  #closed = false

  constructor (options: SqliteStoreOptions) {
    // An in-memory database lives on this one connection: no directory, no second connection, no WAL.
    const onFile = options.filename !== ':memory:'
    const tuning = { ...TUNING_DEFAULTS, ...options.tuning }
    this.#db = openConnection(options.filename, options.busyTimeoutMs ?? 100, tuning)
    options.guard?.opened(this.#db)
    this.#filename = options.filename

    this.#indexer = new Indexer(this.#db)
    this.#reads = new ReadModel(this.#db, this.#indexer)
    this.#deleter = new Deleter(this.#db, this.#indexer)
    this.#scanner = onFile ? new Scanner(options.filename) : null
    this.#checkpointer = !onFile || tuning.checkpointIntervalMs === 0
      ? null
      : new Checkpointer({ filename: options.filename, intervalMs: tuning.checkpointIntervalMs }, (running) => {
        if (this.#db.open) this.#db.pragma(`wal_autocheckpoint = ${running ? tuning.walBackstopPages : tuning.walAutocheckpointPages}`)
      })
    this.#indexThread = !onFile || tuning.indexThread === 'none'
      ? null
      : new IndexThread({
        filename: options.filename,
        identity: identityOf(options.filename),
        busyTimeoutMs: options.busyTimeoutMs ?? 100,
        // Half the main connection's: the thread's pages are mostly the read models' hot leaves, and the memory
        // adds to the process's RSS (docs/performance.md).
        cacheSizeKiB: Math.ceil(tuning.cacheSizeKiB / 2),
        // The thread's commits checkpoint like this connection's: rarely, as a bound, while the checkpoint thread runs.
        walAutocheckpointPages: this.#checkpointer === null ? tuning.walAutocheckpointPages : tuning.walBackstopPages,
        lowPriority: tuning.indexThread === 'low'
      })
    this.#pin = this.#db.prepare('SELECT indexed_through FROM read_state WHERE id = 1').pluck()
    const thread = this.#indexThread
    this.#indexing = new IndexScheduler(this.#indexer, options.indexing ?? {}, () => this.indexingBacklog, () => this.#checkpointer?.start(),
      thread === null ? undefined : { run: (maxRows) => this.#slot(thread, maxRows), starting: () => thread.starting() ?? this.#walCheckpoint(thread) })
    this.#writes = this.#groupCommit(options.guard)
    this.#probe = this.#readinessProbe()

    this.#newestRow = this.#committedNewestRow() ?? 0
    // A backlog left by the previous run (crash, or shutdown under load) is indexed in the background.
    this.#indexing.schedule()
  }

  /**
   * Deliveries of one event-loop turn in one transaction: the row, its primary key (first write wins)
   * and the time-order index, nothing else; the 200s wait for its COMMIT.
   */
  #groupCommit (guard: StoreGuard | undefined): GroupCommit<Message, SaveOutcome> {
    const insert = this.#db.prepare(`
      INSERT INTO messages (message_id, from_msisdn, to_msisdn, ts, text, created_at, ts_key)
      VALUES (?, ?, ?, ?, ?, ?, ?)
      ON CONFLICT (message_id) DO NOTHING`)
    /** The rows the running batch created, for the tail tally once its COMMIT returned. */
    let created: Array<[number, string, string]> = []
    const commitBatch = this.#db.transaction((messages: Message[]): SaveOutcome[] => {
      const createdAt = new Date().toISOString()
      created = []
      return messages.map((m) => {
        const key = instantKey(m.ts)!
        // Positional parameters: no per-row object to build and no name lookups when binding.
        const { changes, lastInsertRowid } = insert.run(m.message_id, m.from, m.to, m.ts, m.text, createdAt, key)
        if (changes !== 1) return 'duplicate'
        const row = Number(lastInsertRowid)
        this.#newestRow = Math.max(this.#newestRow, row)
        created.push([row, m.from, key])
        return 'created'
      })
    })
    return new GroupCommit((messages) => {
      const newestBefore = this.#newestRow
      try {
        const outcomes = commitBatch.immediate(messages)
        // Committed (a guard failing below does not undo that): the rows are in the tail.
        for (const [row, from, key] of created) this.#indexer.committed(row, from, key)
        guard?.committed() // throws (503 for the whole batch) when the file was removed or replaced
        this.#checkpointer?.start()
        this.#indexing.committed()
        return outcomes
      } catch (error) {
        // better-sqlite3 rolls back when the body throws; a failed COMMIT can leave the transaction open.
        if (this.#db.open && this.#db.inTransaction) this.#db.exec('ROLLBACK')
        // Usually rolled back; but a guard may fail a batch after its COMMIT, so ask the file.
        this.#newestRow = this.#committedNewestRow() ?? newestBefore
        throw asUnavailable(error)
      }
    })
  }

  /** Readiness's two questions: does the database answer, and does a real write commit? */
  #readinessProbe (): { select: Statement, write: () => void } {
    const probeWrite = this.#db.transaction(() => {
      this.#db.pragma(`user_version = ${schemaVersion(this.#db)}`)
    })
    return {
      select: this.#db.prepare('SELECT 1').pluck(),
      // Rewrites the header's user_version with its own value: a real page write, committed and synced.
      write: () => probeWrite.immediate()
    }
  }

  /**
   * Opens a slot for one slice on the index thread (see the class comment): deliveries already waiting
   * commit first, then the group commit is held and this connection's snapshot pinned. Throws when the
   * slot cannot open; otherwise the promise settles once it has closed.
   */
  #slot (thread: IndexThread, maxRows: number): Promise<void> {
    if (this.#stale) {
      this.#indexer.reload()
      this.#stale = false
    }
    this.#writes.flush()
    this.#writes.hold()
    try {
      // A read transaction's snapshot starts at its first read. https://www.sqlite.org/isolation.html
      this.#db.exec('BEGIN')
      this.#pin.get()
    } catch (error) {
      this.#endRead()
      this.#writes.release()
      throw error
    }
    return this.#slice(thread, maxRows)
  }

  async #slice (thread: IndexThread, maxRows: number): Promise<void> {
    try {
      const slice = await thread.slice(maxRows)
      this.#endRead()
      this.#indexer.advanced(slice)
      this.#slicesSinceCheckpoint++
    } catch (error) {
      this.#endRead()
      // The thread may have died after its COMMIT: only the database knows where the watermark is now.
      this.#stale = true
      try {
        this.#indexer.reload()
        this.#stale = false
      } catch {}
      throw error
    } finally {
      this.#writes.release()
    }
  }

  /**
   * Every few slices, before the next slot, the thread checkpoints with nothing held or pinned. SQLite
   * starts the WAL over at a commit only when the WAL was fully copied as its transaction began and no
   * reader is inside the WAL; a slot's pinned snapshot is such a reader unless the WAL was fully copied
   * when it began. The checkpoint makes both true for the next slot, unless a delivery commits between.
   * https://www.sqlite.org/walformat.html#wal_reset
   */
  #walCheckpoint (thread: IndexThread): Promise<void> | null {
    if (this.#slicesSinceCheckpoint < SLICES_PER_WAL_CHECKPOINT) return null
    this.#slicesSinceCheckpoint = 0
    // A failed checkpoint only leaves the WAL longer: the checkpoint thread and the backstop still copy it.
    return thread.checkpoint().catch(() => {})
  }

  #endRead (): void {
    if (this.#db.open && this.#db.inTransaction) this.#db.exec('COMMIT')
  }

  /** Tests: whether an indexer slot is open now (reads run in its snapshot, deliveries queue). */
  get indexingSlotOpen (): boolean {
    return this.#indexing.slot !== null
  }

  /** Tests: ends the index thread as a crash would (a slice in flight fails); the next slice starts a new one. */
  async stopIndexThread (): Promise<void> {
    await this.#indexThread?.stop()
  }

  save (message: Message): Promise<SaveOutcome> {
    if (this.#closed) return Promise.reject(asUnavailable(new TypeError('The database connection is not open')))
    this.#indexing.submitted()
    return this.#writes.submit(message)
  }

  saveAll (messages: readonly Message[]): Promise<SaveOutcome[]> {
    // Submitted in one synchronous call, so they land in the same group-commit batch: one transaction,
    // committed or rolled back as a whole.
    return Promise.all(messages.map((message) => this.save(message)))
  }

  async list (filter: MessageFilter): Promise<MessagesListing> {
    try {
      return await this.#reads.list(filter, this.#scanner)
    } catch (error) {
      throw asUnavailable(error)
    }
  }

  async stats (): Promise<Stats> {
    try {
      return this.#reads.stats()
    } catch (error) {
      throw asUnavailable(error)
    }
  }

  /**
   * Pages of the matching rows from one snapshot: a connection of its own holding a read transaction,
   * which WAL keeps at the moment of its first read while commits go on.
   * https://www.sqlite.org/isolation.html
   * Each page is a keyset step read synchronously; between pages the event loop runs (and the caller
   * waits for its client), so deliveries are committed meanwhile. An in-memory database has one
   * connection only, so its snapshot is a serialized copy opened as a database of its own.
   * While the snapshot is held, checkpoints cannot reset the WAL: it grows with what arrives meanwhile.
   */
  async * exportMessages (filter: ExportFilter): AsyncGenerator<Message[]> {
    const db = this.#openSnapshot()
    this.#exports.add(db)
    try {
      // The snapshot starts at the first read after BEGIN: the watermark, from the same snapshot as the rows.
      db.exec('BEGIN')
      const state = db.prepare(`SELECT indexed_through AS indexedThrough, indexed_rows AS indexedRows, senders
        FROM read_state WHERE id = 1`).get() as ReadState
      const reads = new ReadModel(db, { state, tail: TailTally.read(db, state.indexedThrough) })
      let after: PagePosition | undefined
      for (;;) {
        if (!db.open) throw new StoreUnavailableError('database closed')
        const { data, next } = reads.rows({ ...filter, limit: EXPORT_PAGE_ROWS, offset: 0, ...(after === undefined ? {} : { after }) })
        if (data.length > 0) yield data
        if (next === null) return
        after = next
        await new Promise((resolve) => setImmediate(resolve))
      }
    } catch (error) {
      throw asUnavailable(error)
    } finally {
      this.#exports.delete(db)
      if (db.open) db.close() // ends the read transaction: the snapshot is released
    }
  }

  #openSnapshot (): Database.Database {
    if (this.#closed) throw new StoreUnavailableError('database closed')
    try {
      const db = this.#filename === ':memory:'
        ? new Database(this.#db.serialize())
        : new Database(this.#filename, { readonly: true, fileMustExist: true, timeout: 1000 })
      // Each page is read once: a small page cache is enough.
      db.pragma('cache_size = -2048')
      registerFoldCase(db)
      return db
    } catch (error) {
      throw asUnavailable(error)
    }
  }

  async deleteOlderThan (before: string, limit: number): Promise<number> {
    // Retention writes on this connection: not while a slot holds its snapshot.
    await this.#indexing.settled()
    if (this.#closed) throw asUnavailable(new TypeError('The database connection is not open'))
    try {
      const deleted = this.#deleter.deleteBefore(before, limit)
      if (deleted > 0) {
        this.#reads.forgetCounts()
        this.#newestRow = this.#committedNewestRow() ?? this.#newestRow
      }
      return deleted
    } catch (error) {
      throw asUnavailable(error)
    }
  }

  #committedNewestRow (): number | null {
    try {
      return (this.#db.prepare('SELECT max(rowid) FROM messages').pluck().get() as number | null) ?? 0
    } catch {
      return null
    }
  }

  /** The durability settings of this connection (they are per connection, so only it can tell). */
  durability (): { journalMode: string, synchronous: number } {
    return {
      journalMode: this.#db.pragma('journal_mode', { simple: true }) as string,
      synchronous: this.#db.pragma('synchronous', { simple: true }) as number
    }
  }

  /** Rows committed but not yet in the read models. */
  get indexingBacklog (): number {
    return this.#newestRow - this.#indexer.state.indexedThrough
  }

  /**
   * Indexes the backlog now, all of it or its oldest `maxRows` rows (seeding, tests); reads are exact
   * either way. On this connection, synchronously: it throws while a slice runs on the index thread.
   */
  catchUp (maxRows = Infinity): void {
    this.#indexing.catchUp(maxRows)
  }

  async checks (): Promise<StorageChecks> {
    const failure = (error: unknown) => (asUnavailable(error) as Error).message
    const checks: StorageChecks = { database: 'ok', migrations: 'ok', writable: 'ok' }
    // The probe writes on this connection: not while a slot holds its snapshot.
    await this.#indexing.settled()
    if (this.#closed) return { database: 'database closed', migrations: 'unknown', writable: 'unknown' }
    try {
      this.#probe.select.get()
    } catch (error) {
      return { database: failure(error), migrations: 'unknown', writable: 'unknown' }
    }
    try {
      const version = schemaVersion(this.#db)
      if (version !== SCHEMA_VERSION) checks.migrations = `schema version ${version}, expected ${SCHEMA_VERSION}`
    } catch (error) {
      checks.migrations = failure(error)
    }
    // A real committed write, not just BEGIN IMMEDIATE; ROLLBACK, which still succeeds on a full disk.
    // It fails when another writer holds the lock, the file is read-only or storage is full.
    try {
      this.#probe.write()
      // Usually the first write of a run: an orchestrator probes readiness before it sends traffic, so
      // the thread's start-up (~0.1 s of CPU) is over before the first delivery. Starting it at open
      // instead added ~0.12 s to start → ready with the server on one core.
      this.#checkpointer?.start()
    } catch (error) {
      if (this.#db.inTransaction) this.#db.exec('ROLLBACK')
      checks.writable = failure(error)
    }
    return checks
  }

  async close (): Promise<void> {
    if (this.#closed) return
    this.#closed = true
    this.#indexing.stop()
    // A slot ends within a slice: then the deliveries it held are committed below, like any others.
    if (this.#indexing.slot !== null) await this.#indexing.settled()
    this.#writes.flush()
    for (const db of this.#exports) db.close()
    await this.#scanner?.close()
    await this.#indexThread?.stop()
    // The thread's connection first: then this one is the last, and its close checkpoints and removes the WAL.
    await this.#checkpointer?.close()
    this.#db.close()
  }
}

/** The connection, set up for the durability promise and the measured tuning, and migrated. */
function openConnection (filename: string, busyTimeoutMs: number, tuning: Required<TuningOptions>): Database.Database {
  if (filename !== ':memory:') mkdirSync(dirname(filename), { recursive: true })
  const db = new Database(filename, { timeout: busyTimeoutMs })
  // The durability promise: a commit returns only after the WAL is fsynced.
  // https://www.sqlite.org/pragma.html#pragma_synchronous
  db.pragma('journal_mode = WAL')
  db.pragma('synchronous = FULL')
  db.pragma(`wal_autocheckpoint = ${tuning.walAutocheckpointPages}`)
  db.pragma(`cache_size = -${tuning.cacheSizeKiB}`)
  registerFoldCase(db)
  migrate(db)
  return db
}

import { dirname } from 'node:path'
import type Database from 'better-sqlite3'
import type { MessagesPage } from '../../../schemas/messages.ts'
import type { Stats } from '../../../schemas/stats.ts'
import { StoreUnavailableError } from '../errors.ts'
import type { Message } from '../../../schemas/messages.ts'
import type { ExportFilter, MessageFilter, MessageStore, SaveOutcome, StorageChecks } from '../port.ts'
import { copyDatabase } from './copy-database.ts'
import { FileGuard, identityOf } from './file-guard.ts'
import { SqliteStore, type SqliteStoreOptions } from './sqlite-store.ts'
import { asUnavailable } from './unavailable.ts'

/**
 * A file-backed SqliteStore that notices when its database file, WAL or directory is removed or
 * replaced under it (FileGuard), refuses writes with 503 while that lasts, and reopens by itself
 * once the path is usable again, without losing what the old connection had committed:
 *
 * - file removed, directory still (or again) there: the old connection still reads the unlinked file,
 *   so its content is exported back to the path (VACUUM INTO), then reopened;
 * - another file moved over the path: that file is what the operator wants; ours is exported beside it
 *   as `<name>.orphaned-<time>` so nothing committed is destroyed, then the new file is opened;
 * - only the WAL removed: a checkpoint moves its frames into the (still linked) database file first;
 * - directory missing: nothing to do but wait. It is not recreated on purpose: a vanished directory is
 *   usually an unmounted volume, and writing under the empty mount point would split the data.
 */
export class GuardedSqliteStore implements MessageStore {
  readonly #options: SqliteStoreOptions
  #store!: SqliteStore
  #db: Database.Database | null = null
  #guard!: FileGuard
  /** Set while the path does not name our file; every save answers 503 with it until recovery. */
  #problem: string | null = null
  /** The current connection was already exported and retired by a recovery whose reopen failed. */
  #retired = false
  /**
   * Connections that are never closed. Closing a WAL connection deletes `<name>-wal` and `<name>-shm`
   * BY NAME, which would destroy the files of whatever database now lives at the path.
   */
  readonly #orphans: SqliteStore[] = []
  #closed = false

  constructor (options: SqliteStoreOptions) {
    this.#options = options
    this.#open()
  }

  #open (): void {
    const guard = new FileGuard(this.#options.filename)
    const handle: { db: Database.Database | null } = { db: null }
    const store = new SqliteStore({
      ...this.#options,
      guard: {
        opened: (db) => { handle.db = db },
        committed: () => {
          const problem = guard.problem()
          if (problem === null) return
          if (this.#guard === guard) this.#problem = problem
          throw new StoreUnavailableError(problem)
        }
      }
    })
    guard.capture()
    this.#store = store
    this.#db = handle.db
    this.#guard = guard
    this.#problem = null
    this.#retired = false
  }

  /** Tries to get back to a connection on the file at the path; leaves #problem set when it cannot yet. */
  #recover (): void {
    const { filename } = this.#options
    if (identityOf(dirname(filename)) === null) {
      this.#problem = 'database directory missing'
      return
    }
    const guard = this.#guard
    if (!this.#retired) {
      const database = guard.database
      const [wal, shm] = [guard.wal, guard.shm]
      if (database === 'ours' && wal === 'foreign') {
        // Opening would replay a WAL that belongs to another database onto ours.
        this.#problem = 'database journal replaced'
        return
      }
      try {
        const db = this.#db
        if (db?.open === true) {
          // Everything this connection committed into its own database file, so that one file holds it all.
          db.pragma('wal_checkpoint(TRUNCATE)')
          if (database === 'absent') copyDatabase(db, filename, () => undefined)
          else if (database === 'foreign') copyDatabase(db, `${filename}.orphaned-${new Date().toISOString().replace(/[:.]/g, '-')}`, () => undefined)
        }
      } catch (error) {
        this.#problem = (asUnavailable(error) as Error).message
        return
      }
      // Closing deletes the WAL and shared-memory files by name: only when those names are ours or empty.
      if (wal !== 'foreign' && shm !== 'foreign') this.#store.close().catch(() => {})
      else this.#orphans.push(this.#store)
      this.#db = null
      this.#retired = true
    }
    try {
      this.#open()
    } catch (error) {
      this.#problem = (asUnavailable(error) as Error).message
    }
  }

  /** The store to write to, or a 503 while the file is gone and cannot be brought back yet. */
  #writable (): SqliteStore {
    if (this.#problem !== null && !this.#closed) this.#recover()
    if (this.#problem !== null) throw new StoreUnavailableError(this.#problem)
    return this.#store
  }

  /** Reads keep answering from the old connection while the file cannot be reopened: its data is still right. */
  #readable (): SqliteStore {
    if (this.#problem !== null && !this.#closed) this.#recover()
    return this.#store
  }

  save (message: Message): Promise<SaveOutcome> {
    try {
      return this.#writable().save(message)
    } catch (error) {
      return Promise.reject(error)
    }
  }

  saveAll (messages: readonly Message[]): Promise<SaveOutcome[]> {
    try {
      return this.#writable().saveAll(messages)
    } catch (error) {
      return Promise.reject(error)
    }
  }

  list (filter: MessageFilter): Promise<MessagesPage> {
    return this.#readable().list(filter)
  }

  stats (): Promise<Stats> {
    return this.#readable().stats()
  }

  exportMessages (filter: ExportFilter): AsyncIterable<Message[]> {
    return this.#readable().exportMessages(filter)
  }

  deleteOlderThan (before: string, limit: number): Promise<number> {
    try {
      return this.#writable().deleteOlderThan(before, limit)
    } catch (error) {
      return Promise.reject(error)
    }
  }

  async checks (): Promise<StorageChecks> {
    if (this.#closed) return this.#store.checks()
    this.#problem ??= this.#guard.problem()
    if (this.#problem !== null) this.#recover()
    if (this.#problem !== null) return { database: this.#problem, migrations: 'unknown', writable: 'unknown' }
    return this.#store.checks()
  }

  async close (): Promise<void> {
    this.#closed = true
    await this.#store.close()
  }
}

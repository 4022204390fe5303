import { mkdirSync } from 'node:fs'
import { dirname } from 'node:path'
import Database, { type Statement } from 'better-sqlite3'
import type { Message, MessagesPage } from '../../../schemas/messages.ts'
import type { Stats, SenderCount } from '../../../schemas/stats.ts'
import { foldCase } from '../../lib/fold-case.ts'
import { GroupCommit } from '../../lib/group-commit.ts'
import { instantKey } from '../../lib/timestamp.ts'
import type { MessageFilter, MessageStore, SaveOutcome, StorageChecks } from '../port.ts'
import { SCHEMA_VERSION, migrate, schemaVersion } from './migrations.ts'
import type { StoreGuard } from './file-guard.ts'
import { asUnavailable } from './unavailable.ts'

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
}

const SELECT_COLUMNS = 'message_id, from_msisdn AS "from", to_msisdn AS "to", ts, text'

interface ListStatements {
  page: Statement
  count: Statement
}

/** The SQLite engine: one connection, statements prepared once, writes group-committed. */
export class SqliteStore implements MessageStore {
  readonly #db: Database.Database
  readonly #insert: Statement
  readonly #writes: GroupCommit<Message, SaveOutcome>
  readonly #listStatements = new Map<string, ListStatements>()
  readonly #stats: { totals: Statement, top: Statement, first: Statement, last: Statement }
  readonly #probe: { select: Statement, write: () => void }
  #closed = false

  constructor (options: SqliteStoreOptions) {
    if (options.filename !== ':memory:') mkdirSync(dirname(options.filename), { recursive: true })
    this.#db = new Database(options.filename, { timeout: options.busyTimeoutMs ?? 100 })
    // The durability promise: a commit returns only after the WAL is fsynced.
    // https://www.sqlite.org/pragma.html#pragma_synchronous
    this.#db.pragma('journal_mode = WAL')
    this.#db.pragma('synchronous = FULL')
    this.#db.function('fold_case', { deterministic: true }, (s: unknown) => typeof s === 'string' ? foldCase(s) : null)
    migrate(this.#db)
    options.guard?.opened(this.#db)

    this.#insert = this.#db.prepare(`
      INSERT INTO messages (message_id, from_msisdn, to_msisdn, ts, text, created_at, ts_key)
      VALUES (@message_id, @from, @to, @ts, @text, @created_at, @ts_key)
      ON CONFLICT (message_id) DO NOTHING`)
    const commitBatch = this.#db.transaction((messages: Message[]): SaveOutcome[] => {
      const createdAt = new Date().toISOString()
      return messages.map((m) => {
        const { changes } = this.#insert.run({ ...m, created_at: createdAt, ts_key: instantKey(m.ts) })
        return changes === 1 ? 'created' : 'duplicate'
      })
    })
    this.#writes = new GroupCommit((messages) => {
      try {
        const outcomes = commitBatch.immediate(messages)
        options.guard?.committed() // throws (503 for the whole batch) when the file was removed or replaced
        return outcomes
      } catch (error) {
        // better-sqlite3 rolls back when the body throws; a failed COMMIT can leave the transaction open.
        if (this.#db.open && this.#db.inTransaction) this.#db.exec('ROLLBACK')
        throw asUnavailable(error)
      }
    })

    this.#stats = {
      totals: this.#db.prepare('SELECT count(*) AS total, count(DISTINCT from_msisdn) AS senders FROM messages'),
      top: this.#db.prepare(`
        SELECT from_msisdn AS "from", count(*) AS count FROM messages
        GROUP BY from_msisdn ORDER BY count DESC, from_msisdn ASC LIMIT 10`),
      first: this.#db.prepare('SELECT ts FROM messages ORDER BY ts_key ASC, message_id ASC LIMIT 1').pluck(),
      last: this.#db.prepare('SELECT ts FROM messages ORDER BY ts_key DESC, message_id DESC LIMIT 1').pluck()
    }
    const probeWrite = this.#db.transaction(() => {
      this.#db.pragma(`user_version = ${schemaVersion(this.#db)}`)
    })
    this.#probe = {
      select: this.#db.prepare('SELECT 1').pluck(),
      // Rewrites the header's user_version with its own value: a real page write, committed and synced.
      write: () => probeWrite.immediate()
    }
  }

  save (message: Message): Promise<SaveOutcome> {
    if (this.#closed) return Promise.reject(asUnavailable(new TypeError('The database connection is not open')))
    return this.#writes.submit(message)
  }

  async list (filter: MessageFilter): Promise<MessagesPage> {
    const params = {
      from: filter.from,
      since: filter.since === undefined ? undefined : instantKey(filter.since),
      q: filter.q === undefined || filter.q === '' ? undefined : foldCase(filter.q)
    }
    const bound = Object.fromEntries(Object.entries(params).filter(([, v]) => v !== undefined))
    try {
      const statements = this.#listStatementsFor(params)
      const data = statements.page.all({ ...bound, limit: filter.limit, offset: filter.offset }) as Message[]
      const total = statements.count.get(bound) as number
      return { data, total, limit: filter.limit, offset: filter.offset }
    } catch (error) {
      throw asUnavailable(error)
    }
  }

  /** One pair of statements per combination of filters, prepared the first time it is used. */
  #listStatementsFor (params: Record<string, string | null | undefined>): ListStatements {
    const where: string[] = []
    if (params.from !== undefined) where.push('from_msisdn = @from')
    if (params.since !== undefined) where.push('ts_key >= @since')
    if (params.q !== undefined) where.push('instr(fold_case(text), @q) > 0')
    const key = where.join(' AND ')
    let statements = this.#listStatements.get(key)
    if (statements === undefined) {
      const clause = where.length === 0 ? '' : `WHERE ${key}`
      statements = {
        page: this.#db.prepare(`SELECT ${SELECT_COLUMNS} FROM messages ${clause}
          ORDER BY ts_key ASC, message_id ASC LIMIT @limit OFFSET @offset`),
        count: this.#db.prepare(`SELECT count(*) FROM messages ${clause}`).pluck()
      }
      this.#listStatements.set(key, statements)
    }
    return statements
  }

  async stats (): Promise<Stats> {
    try {
      const { total, senders } = this.#stats.totals.get() as { total: number, senders: number }
      return {
        total_messages: total,
        senders_count: senders,
        messages_per_sender: this.#stats.top.all() as SenderCount[],
        first_message_ts: (this.#stats.first.get() as string | undefined) ?? null,
        last_message_ts: (this.#stats.last.get() as string | undefined) ?? null
      }
    } catch (error) {
      throw asUnavailable(error)
    }
  }

  async checks (): Promise<StorageChecks> {
    const failure = (error: unknown) => (asUnavailable(error) as Error).message
    const checks: StorageChecks = { database: 'ok', migrations: 'ok', writable: 'ok' }
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
    // A real committed write, not just BEGIN IMMEDIATE; ROLLBACK, which still succeeds on a full disk
    // (contract §5). It fails when another writer holds the lock, the file is read-only or storage is full.
    try {
      this.#probe.write()
    } catch (error) {
      if (this.#db.inTransaction) this.#db.exec('ROLLBACK')
      checks.writable = failure(error)
    }
    return checks
  }

  async close (): Promise<void> {
    if (this.#closed) return
    this.#closed = true
    this.#writes.flush()
    this.#db.close()
  }
}

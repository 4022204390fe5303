import { setTimeout as sleep } from 'node:timers/promises'
import pg from 'pg'
import type { Message } from '../../../schemas/messages.ts'
import type { Stats } from '../../../schemas/stats.ts'
import { instantKey } from '../../lib/timestamp.ts'
import { AsyncGroupCommit } from '../async-group-commit.ts'
import { StoreUnavailableError } from '../errors.ts'
import { foldCase } from '../fold-case.ts'
import type { ExportFilter, MessageFilter, MessagesListing, MessageStore, SaveOutcome, StorageChecks } from '../port.ts'
import { SCHEMA_VERSION, migrate } from './migrations.ts'
import { candidatesCheaper } from '../search-plan.ts'
import * as sql from './statements.ts'
import { decodeText, encodeText, mayMisalign } from './text-codec.ts'
import { asUnavailable } from './unavailable.ts'

export interface PostgresStoreOptions {
  /** A libpq-style URL (postgres:// or postgresql://). */
  url: string
  /** Connections this process keeps at most (DATABASE_POOL_MAX). */
  poolMax?: number
  /** How long connecting (or waiting for a free pooled connection) may take before a request gets 503. */
  connectTimeoutMs?: number
  /** How long one query may take before it is abandoned with 503 (a server that stopped answering). */
  queryTimeoutMs?: number
  /** After a failed start (migrations), how long to wait before trying again in the background. */
  retryMs?: number
}

/** How long a readiness probe waits for migrations in progress before answering that they are not done. */
const MIGRATION_PROBE_WAIT_MS = 1000

/** Most filters whose counts are cached (least recently used first out). */
const COUNT_CACHE = 512
/** Rows an export fetches per round trip (and hands the caller as one array). */
const EXPORT_CHUNK = 1000

/** The cache key of a counted filter. */
const countKey = (from: string | undefined, since: string | undefined, q: string | undefined) => JSON.stringify([from ?? null, since ?? null, q ?? null])

interface CachedCount {
  /** Rows matching, as of `through`. */
  n: number
  /** The write_clock tick the count is exact for. */
  through: number
}

/** UTF-8 byte order, as the database's COLLATE "C" (JS's < compares UTF-16 code units). */
const byteOrder = (a: string, b: string) => Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'))

/** A row of a page query: the message (stored form) and its instant key. */
interface PageRow {
  message_id: string
  from: string
  to: string
  ts: string
  text: string | null
  ts_key: string
}

/**
 * `synchronous_commit` for every session, whatever the server, database or role default says: a COMMIT
 * returns only once its WAL is flushed (and, where the operator asked for more, remote_apply is kept).
 * Startup options outrank ALTER DATABASE/ROLE settings. `plan_cache_mode`: the search and `since`
 * statements' best plans depend on their parameter values (a rare word or a common one, the clock tick
 * a cached count is exact for), so each execution is planned with its values.
 * https://www.postgresql.org/docs/15/runtime-config-wal.html#GUC-SYNCHRONOUS-COMMIT
 * https://www.postgresql.org/docs/15/libpq-connect.html#LIBPQ-CONNECT-OPTIONS
 */
export function connectionString (url: string): string {
  // Only the query string is rewritten: the rest stays as given (libpq forms WHATWG URL would refuse).
  const at = url.indexOf('?')
  const [base, query] = at === -1 ? [url, ''] : [url.slice(0, at), url.slice(at + 1)]
  const params = new URLSearchParams(query)
  const given = params.get('options') ?? ''
  const durable = /synchronous_commit\s*=\s*remote_apply/.test(given) ? '' : '-c synchronous_commit=on'
  params.set('options', [given, durable, '-c plan_cache_mode=force_custom_plan'].filter((o) => o !== '').join(' '))
  return `${base}?${params.toString()}`
}

/**
 * The PostgreSQL engine: a connection pool, statements named so each connection
 * prepares them once, and deliveries group-committed as one statement per batch (the rows, their
 * aggregates and the clock tick in one implicit transaction: one round trip, one WAL flush).
 *
 * Nothing here waits for the server at construction: migrations run in the background and are retried
 * until they succeed, so a process started while the database is unreachable serves liveness, answers
 * 503 elsewhere and becomes ready by itself. A lost connection is dropped by the pool and replaced at
 * the next request; no state outlives it.
 */
export class PostgresStore implements MessageStore {
  readonly #pool: pg.Pool
  readonly #writes: AsyncGroupCommit<Message, SaveOutcome>
  readonly #retryMs: number
  readonly #counts = new Map<string, CachedCount>()
  /** Statement text → name, so each connection prepares a statement once. */
  readonly #names = new Map<string, string>()
  /** Rows stored, as last read: only an estimate for choosing a search plan. */
  #rowsEstimate = 0
  #migrated = false
  #migration: Promise<void> | null = null
  #startError: string | null = null
  #retryTimer: NodeJS.Timeout | null = null
  #closed = false

  constructor (options: PostgresStoreOptions) {
    this.#pool = new pg.Pool({
      connectionString: connectionString(options.url),
      max: options.poolMax ?? 10,
      connectionTimeoutMillis: options.connectTimeoutMs ?? 2000,
      // A connection whose server vanished without a reset (a network partition) would hold its request
      // until TCP gave up; the longest query here (a common search's first count at 1M rows) takes seconds.
      query_timeout: options.queryTimeoutMs ?? 10_000,
      idleTimeoutMillis: 30_000,
      keepAlive: true,
      application_name: 'hookvault'
    })
    // An idle connection the server closed (restart, failover) emits here; the pool has already dropped
    // it, and the next request opens a fresh one. Without a listener the error would crash the process.
    this.#pool.on('error', () => {})
    this.#retryMs = options.retryMs ?? 1000
    this.#writes = new AsyncGroupCommit((messages) => this.#commitBatch(messages))
    this.#startMigration().catch(() => {})
  }

  /**
   * A connection of our own (export, retention). While checked out, the pool no longer listens for its
   * 'error' event, and one that arrives between two queries (the server went away while an export
   * waits for a slow reader) would crash the process: this listener takes it, and the next query fails.
   */
  async #checkout (): Promise<pg.PoolClient> {
    let client: pg.PoolClient
    try {
      client = await this.#pool.connect()
    } catch (error) {
      throw asUnavailable(error)
    }
    const ignore = () => {}
    client.on('error', ignore)
    const release = client.release.bind(client)
    client.release = (error?: Error | boolean) => {
      client.removeListener('error', ignore)
      release(error)
    }
    return client
  }

  /** Runs the migrations once; after a failure, again in the background until they succeed. */
  #startMigration (): Promise<void> {
    if (this.#migrated) return Promise.resolve()
    if (this.#migration !== null) return this.#migration
    const attempt = (async () => {
      const client = await this.#checkout()
      try {
        await migrate(client)
        client.release()
      } catch (error) {
        client.release(error as Error)
        throw error
      }
    })()
    this.#migration = attempt.then(() => {
      this.#migrated = true
      this.#startError = null
    }, (error: unknown) => {
      this.#migration = null
      const unavailable = asUnavailable(error)
      this.#startError = unavailable instanceof StoreUnavailableError ? unavailable.message : String((error as Error).message ?? error)
      if (!this.#closed && this.#retryTimer === null) {
        this.#retryTimer = setTimeout(() => {
          this.#retryTimer = null
          if (!this.#closed) this.#startMigration().catch(() => {})
        }, this.#retryMs)
        this.#retryTimer.unref()
      }
      throw unavailable instanceof StoreUnavailableError ? unavailable : new StoreUnavailableError('database not migrated', { cause: error })
    })
    return this.#migration
  }

  async #ready (): Promise<void> {
    if (this.#closed) throw new StoreUnavailableError('database closed')
    if (!this.#migrated) await this.#startMigration()
  }

  /** A named statement: node-postgres prepares it on each connection's first use, then binds only values. */
  #statement (text: string, values: unknown[]): pg.QueryConfig {
    let name = this.#names.get(text)
    if (name === undefined) {
      name = `hookvault_${this.#names.size + 1}`
      this.#names.set(text, name)
    }
    return { name, text, values }
  }

  async #query<R extends pg.QueryResultRow> (text: string, values: unknown[] = []): Promise<R[]> {
    try {
      return (await this.#pool.query<R>(this.#statement(text, values))).rows
    } catch (error) {
      throw asUnavailable(error)
    }
  }

  save (message: Message): Promise<SaveOutcome> {
    if (this.#closed) return Promise.reject(new StoreUnavailableError('database closed'))
    return this.#writes.submit(message)
  }

  saveAll (messages: readonly Message[]): Promise<SaveOutcome[]> {
    if (this.#closed) return Promise.reject(new StoreUnavailableError('database closed'))
    // One submitAll: the messages share a batch, which is one statement, so they commit together or not at all.
    return this.#writes.submitAll(messages)
  }

  /** One batch in one statement (sql.INSERT_BATCH); first write wins, within the batch too. */
  async #commitBatch (messages: Message[]): Promise<SaveOutcome[]> {
    await this.#ready()
    const first = new Map<string, number>()
    const columns: string[][] = [[], [], [], [], [], [], []]
    messages.forEach((m, i) => {
      const id = encodeText(m.message_id)
      if (first.has(id)) return
      first.set(id, i)
      const text = m.text === null ? null : encodeText(m.text)
      const folded = m.text === null ? null : encodeText(foldCase(m.text))
      const row = [id, m.from, m.to, m.ts, text, instantKey(m.ts), folded]
      row.forEach((value, c) => { (columns[c] as unknown[]).push(value) })
    })
    const rows = await this.#query<{ message_id: string }>(sql.INSERT_BATCH, [...columns, new Date().toISOString()])
    const created = new Set(rows.map((r) => r.message_id))
    return messages.map((m, i) => {
      const id = encodeText(m.message_id)
      return first.get(id) === i && created.has(id) ? 'created' : 'duplicate'
    })
  }

  async list (filter: MessageFilter): Promise<MessagesListing> {
    await this.#ready()
    const q = filter.q === undefined || filter.q === '' ? undefined : foldCase(filter.q)
    if (q !== undefined && mayMisalign(q)) return this.#listChecked(filter, q)
    if (q === undefined && (filter.from === undefined || filter.since === undefined)) {
      const plan = sql.listing(filter)
      const rows = await this.#query<PageRow & { total: string }>(plan.text, plan.values)
      return this.#listing(filter, rows, Number(rows[0]?.total ?? 0))
    }
    // A total no aggregate holds (a search, or a sender since an instant): a count cached per filter,
    // brought up to date with the rows committed after it (batch > through, the batch index finds
    // them), read in the same statement (one snapshot) as the page. Uncached, through = -1 counts all.
    const key = countKey(filter.from, filter.since, q)
    // A search needs an estimate of its matches to choose its plan: the search's own count.
    if (q !== undefined && filter.from === undefined && !this.#counts.has(countKey(undefined, undefined, q)) && !this.#counts.has(key)) {
      await this.#countSearch(q)
    }
    for (;;) {
      const cached = this.#counts.get(key)
      const search = q === undefined ? undefined : { q: encodeText(q), useIndex: filter.from === undefined && this.#rare(q, filter) }
      const plan = sql.countedListing(filter, search, cached?.through ?? -1)
      const rows = await this.#query<PageRow & { delta: string, clock: string, deleted_at: string }>(plan.text, plan.values)
      const head = rows[0]!
      if (cached !== undefined && Number(head.deleted_at) > cached.through) {
        // Rows were deleted since the count: count again (rare: a retention sweep).
        this.#counts.delete(key)
        continue
      }
      const n = (cached?.n ?? 0) + Number(head.delta)
      this.#remember(key, { n, through: Number(head.clock) })
      return this.#listing(filter, rows, n)
    }
  }

  /** Counts every row matching a search, with the clock tick that count is exact for. */
  async #countSearch (q: string): Promise<void> {
    const statement = sql.countSearch(encodeText(q))
    const [row] = await this.#query<{ n: string, clock: string, rows: string }>(statement.text, statement.values)
    this.#rowsEstimate = Number(row!.rows)
    this.#remember(countKey(undefined, undefined, q), { n: Number(row!.n), through: Number(row!.clock) })
  }

  #remember (key: string, count: CachedCount): void {
    this.#counts.delete(key)
    this.#counts.set(key, count)
    if (this.#counts.size > COUNT_CACHE) this.#counts.delete(this.#counts.keys().next().value!)
  }

  /**
   * Whether the trigram index should find a search's rows (few matches) rather than an ordered scan
   * testing each row until the page is full (many). Needs 3+ characters (trigrams) and a known count.
   */
  #rare (q: string, filter: MessageFilter): boolean {
    if ([...q].length < 3) return false
    const matches = (this.#counts.get(countKey(undefined, undefined, q)) ?? this.#counts.get(countKey(filter.from, filter.since, q)))?.n
    if (matches === undefined) return true // no estimate: the index bounds the worst case
    return candidatesCheaper(matches, this.#rowsEstimate, filter.offset + filter.limit + 1)
  }

  /**
   * A search whose folded query holds U+0000–U+0002 (text-codec.ts): the escaped substring test may
   * match more rows than the plain one, so every candidate is tested again here, then paged. Such
   * searches are rare and their candidates rarer (texts holding those characters).
   */
  async #listChecked (filter: MessageFilter, q: string): Promise<MessagesListing> {
    const plan = sql.candidates({ from: filter.from, since: filter.since }, encodeText(q))
    const rows = (await this.#query<PageRow>(plan.text, plan.values))
      .filter((r) => r.text !== null && foldCase(decodeText(r.text)).includes(q))
    const after = filter.after
    const from = after === undefined
      ? 0
      : rows.findIndex((r) => r.ts_key > after.tsKey || (r.ts_key === after.tsKey && byteOrder(r.message_id, encodeText(after.messageId)) > 0))
    const page = from === -1 ? [] : rows.slice(from + filter.offset, from + filter.offset + filter.limit + 1)
    return this.#listing(filter, page, rows.length)
  }

  /** The listing for `filter` from its page rows (one more than the limit, when there are more) and its total. */
  #listing (filter: MessageFilter, rows: PageRow[], total: number): MessagesListing {
    const page = rows.filter((r) => r.message_id !== null) // a LEFT JOIN's empty page is one row of nulls
    const more = page.length > filter.limit
    if (more) page.pop()
    const data: Message[] = page.map((r) => ({
      message_id: decodeText(r.message_id),
      from: r.from,
      to: r.to,
      ts: r.ts,
      text: r.text === null ? null : decodeText(r.text)
    }))
    const last = page[page.length - 1]
    return {
      data,
      total,
      limit: filter.limit,
      offset: filter.offset,
      next: more && last !== undefined ? { tsKey: last.ts_key, messageId: decodeText(last.message_id) } : null
    }
  }

  async stats (): Promise<Stats> {
    await this.#ready()
    const [row] = await this.#query<{ messages: string, senders: string, top: Array<{ from: string, count: number }>, first: string | null, last: string | null }>(sql.STATS)
    this.#rowsEstimate = Number(row!.messages)
    return {
      total_messages: Number(row!.messages),
      senders_count: Number(row!.senders),
      messages_per_sender: row!.top.map((s) => ({ from: s.from, count: Number(s.count) })),
      first_message_ts: row!.first,
      last_message_ts: row!.last
    }
  }

  /**
   * Reads in a REPEATABLE READ READ ONLY transaction: one snapshot for the whole export, walked with a
   * cursor so memory holds one chunk. Returning early (the consumer stopped) closes the transaction.
   */
  async * exportMessages (filter: ExportFilter): AsyncIterable<Message[]> {
    await this.#ready()
    const q = filter.q === undefined || filter.q === '' ? undefined : foldCase(filter.q)
    const checked = q !== undefined && mayMisalign(q)
    const client = await this.#checkout()
    let broken: Error | undefined
    try {
      await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY')
      const plan = q === undefined
        ? sql.candidates(filter, undefined)
        : sql.candidates(filter, encodeText(q), !checked && [...q].length >= 3 && this.#rare(q, { ...filter, limit: 100, offset: 0 }))
      await client.query(this.#statement(`DECLARE export_rows NO SCROLL CURSOR FOR ${plan.text}`, plan.values))
      for (;;) {
        const { rows } = await client.query<PageRow>(`FETCH ${EXPORT_CHUNK} FROM export_rows`)
        const data = rows
          .filter((r) => !checked || (r.text !== null && foldCase(decodeText(r.text)).includes(q!)))
          .map((r) => ({ message_id: decodeText(r.message_id), from: r.from, to: r.to, ts: r.ts, text: r.text === null ? null : decodeText(r.text) }))
        if (data.length > 0) yield data
        if (rows.length < EXPORT_CHUNK) break
      }
      await client.query('COMMIT')
    } catch (error) {
      broken = error as Error
      throw asUnavailable(error)
    } finally {
      // Early return lands here with the transaction open: ROLLBACK ends it (and the cursor) before the
      // connection goes back to the pool; a connection that failed is discarded instead.
      if (broken === undefined) {
        try {
          await client.query('ROLLBACK')
          client.release()
        } catch (error) {
          client.release(error as Error)
        }
      } else {
        client.release(broken)
      }
    }
  }

  /**
   * Deletes the oldest rows before `before`, up to `limit`, with their aggregates, in one transaction
   * that holds the clock (so cached search counts see the deletion and count again).
   */
  async deleteOlderThan (before: string, limit: number): Promise<number> {
    await this.#ready()
    const client = await this.#checkout()
    try {
      await client.query('BEGIN')
      const { rows: [row] } = await client.query<{ deleted: string, senders: string[] | null }>(this.#statement(sql.DELETE_OLDER, [before, limit]))
      if (row!.senders !== null) await client.query(this.#statement(sql.DROP_EMPTY_SENDERS, [row!.senders]))
      await client.query(this.#statement(sql.DROP_EMPTY_BUCKETS, []))
      await client.query('COMMIT')
      client.release()
      return Number(row!.deleted)
    } catch (error) {
      await client.query('ROLLBACK').catch(() => {})
      client.release(error as Error)
      throw asUnavailable(error)
    }
  }

  async checks (): Promise<StorageChecks> {
    if (this.#closed) return { database: 'database closed', migrations: 'unknown', writable: 'unknown' }
    if (!this.#migrated) {
      try {
        // A migration can wait long for another replica's lock: readiness answers at once meanwhile.
        const settled = await Promise.race([this.#startMigration().then(() => true), sleep(MIGRATION_PROBE_WAIT_MS, false)])
        if (!settled) return { database: 'unknown', migrations: 'migrations not finished yet (another process may hold them)', writable: 'unknown' }
      } catch {
        const reason = this.#startError ?? 'database unavailable'
        // Reached, but the migrations failed (permissions, a newer schema): say which check failed.
        const reached = !/unreachable|unavailable|timeout|closed/.test(reason)
        return reached
          ? { database: 'ok', migrations: reason, writable: 'unknown' }
          : { database: reason, migrations: 'unknown', writable: 'unknown' }
      }
    }
    // A real committed write, on a session whose synchronous_commit it reports, so a
    // durability setting the service could not apply shows here instead of weakening every 200.
    let probe: { sync: string, version: number }
    try {
      const [row] = await this.#query<{ sync: string, version: number }>(sql.PROBE_WRITE, [process.pid])
      probe = row!
    } catch (error) {
      const failure = asUnavailable(error)
      if (failure instanceof StoreUnavailableError && /unreachable|unavailable/.test(failure.message)) {
        return { database: failure.message, migrations: 'unknown', writable: 'unknown' }
      }
      return { database: 'ok', migrations: 'ok', writable: (failure as Error).message }
    }
    return {
      database: 'ok',
      migrations: probe.version === SCHEMA_VERSION ? 'ok' : `schema version ${probe.version}, expected ${SCHEMA_VERSION}`,
      writable: ['on', 'remote_apply'].includes(probe.sync) ? 'ok' : `synchronous_commit is ${probe.sync}`
    }
  }

  async close (): Promise<void> {
    if (this.#closed) return
    // Pending deliveries commit first; then nothing new is taken.
    await this.#writes.flush().catch(() => {})
    this.#closed = true
    if (this.#retryTimer !== null) clearTimeout(this.#retryTimer)
    await this.#migration?.catch(() => {})
    await this.#pool.end()
  }
}

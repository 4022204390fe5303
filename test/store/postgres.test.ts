import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { createServer, connect, type Server, type Socket } from 'node:net'
import { test, type TestContext } from 'node:test'
import pg from 'pg'
import type { Message } from '../../schemas/messages.ts'
import { parseDatabaseUrl } from '../../src/lib/database-url.ts'
import { instantKey } from '../../src/lib/timestamp.ts'
import { StoreUnavailableError } from '../../src/store/errors.ts'
import type { MessageFilter, MessagesListing } from '../../src/store/port.ts'
import { PostgresStore, connectionString } from '../../src/store/postgres/postgres-store.ts'
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.ts'

// Engine-level tests against a real PostgreSQL server: TEST_POSTGRES_URL names a database on it whose
// user may CREATE DATABASE; each test gets a database of its own, dropped afterwards.

const SERVER_URL = process.env.TEST_POSTGRES_URL
if (SERVER_URL === undefined || SERVER_URL === '') {
  console.warn('\n*** test/store/postgres.test.ts: TEST_POSTGRES_URL is not set, so the PostgreSQL engine is NOT tested. ***\n' +
    '*** Set it to a server URL whose user may CREATE DATABASE, e.g. postgres://postgres@127.0.0.1:5432/postgres ***\n')
}
const skip = SERVER_URL === undefined || SERVER_URL === '' ? 'TEST_POSTGRES_URL is not set' : false

async function admin<T> (run: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: SERVER_URL })
  await client.connect()
  try {
    return await run(client)
  } finally {
    await client.end()
  }
}

/** A fresh database on the test server, dropped when the test ends; its URL. */
async function database (t: TestContext, settings: string[] = []): Promise<string> {
  const name = `hookvault_test_${randomBytes(6).toString('hex')}`
  await admin(async (client) => {
    await client.query(`CREATE DATABASE ${name}`)
    for (const setting of settings) await client.query(`ALTER DATABASE ${name} SET ${setting}`)
  })
  t.after(() => admin((client) => client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)))
  const url = new URL(SERVER_URL!)
  url.pathname = `/${name}`
  return url.toString()
}

function open (t: TestContext, url: string, options: { poolMax?: number } = {}): PostgresStore {
  const store = new PostgresStore({ url, retryMs: 200, ...options })
  t.after(() => store.close())
  return store
}

const message = (id: string, overrides: Partial<Message> = {}): Message =>
  ({ message_id: id, from: '+919876543210', to: '+14155550100', ts: '2025-01-15T10:00:00Z', text: 'Hello', ...overrides })

const LONG_SENDER = '+' + '7'.repeat(260)

/** Inputs where order, folding and ties matter: fractions, equal instants, non-ASCII, NUL, LIKE metacharacters. */
const CORPUS: Message[] = [
  message('m10', { ts: '2025-01-15T10:00:00.5Z', text: 'Grüße aus KÖLN' }),
  message('m2', { ts: '2025-01-15T10:00:00Z', text: 'STRASSE' }),
  message('m1', { ts: '2025-01-15T10:00:00.000Z', text: 'straße', from: '+1' }),
  message('é', { ts: '2025-01-15T10:00:00.500000000Z', text: 'ΣΟΦΊΑ σοφίας', from: '+1' }),
  message('z', { ts: '2025-01-14T23:59:59.999999999Z', text: null, from: '+22' }),
  message('a\u0000b', { ts: '2025-01-15T10:00:00Z', text: 'nul \u0000 inside, 100% sure_', from: '+22' }),
  message('a', { ts: '2025-01-15T10:00:00Z', text: 'a\u0001b \u0002c', from: '+22' }),
  message('😀', { ts: '2025-01-16T00:00:00Z', text: 'ÉCOLE 東京 🎉', from: '+3' }),
  message('\uffff', { ts: '2025-01-16T00:00:00Z', text: 'İstanbul', from: '+3' }),
  message('m3', { ts: '2025-02-01T00:00:00.1Z', text: 'percent % and under_score', from: '+1' }),
  // Longer than the indexes' 200-character prefix (migrations.ts): equal prefixes, order decided after them.
  message('p'.repeat(250) + 'b', { ts: '2025-01-15T10:00:00Z', text: 'long id b', from: LONG_SENDER }),
  message('p'.repeat(250) + 'a', { ts: '2025-01-15T10:00:00Z', text: 'long id a', from: LONG_SENDER + '0' }),
  message('p'.repeat(200), { ts: '2025-01-15T10:00:00Z', text: 'prefix-long id', from: LONG_SENDER }),
  ...Array.from({ length: 30 }, (_, i) => message(`bulk-${String(i).padStart(2, '0')}`, {
    ts: `2025-01-15T10:0${i % 4}:00.${i % 3}Z`,
    text: i % 5 === 0 ? null : `order ${i} reminder`,
    from: `+4${i % 3}`
  }))
]

const FILTERS: Array<Omit<MessageFilter, 'limit' | 'offset'>> = [
  {}, { from: '+1' }, { from: '+22' }, { from: LONG_SENDER }, { from: LONG_SENDER + '0' }, { from: LONG_SENDER.slice(0, 200) }, { from: '+nobody' }, { since: '2025-01-15T10:00:00Z' }, { since: '2025-01-15T10:00:00.5Z' },
  { since: '2025-01-15T10:01:00Z' }, { since: '2030-01-01T00:00:00Z' }, { from: '+40', since: '2025-01-15T10:01:00Z' },
  { q: 'strasse' }, { q: 'ß' }, { q: 'é' }, { q: 'ÉCOLE' }, { q: 'σοφια' }, { q: 'ς' }, { q: 'ORDER' }, { q: 'o' }, { q: 'or' },
  { q: '%' }, { q: '_' }, { q: '\u0000' }, { q: '\u0001' }, { q: '\u0002' }, { q: 'b' }, { q: 'i̇' }, { q: '東' }, { q: '😀' },
  { q: 'reminder', since: '2025-01-15T10:02:00Z' }, { q: 'order', from: '+41' }, { q: 'zzz-none' }
]

/** Every page of a filter, walked by cursor, as ids; and the first page's total. */
async function walk (store: { list: (f: MessageFilter) => Promise<MessagesListing> }, filter: Omit<MessageFilter, 'limit' | 'offset'>) {
  const ids: string[] = []
  let after: MessageFilter['after']
  let total: number | undefined
  for (let pages = 0; pages < 50; pages++) {
    const listing = await store.list({ ...filter, limit: 4, offset: 0, ...(after === undefined ? {} : { after }) })
    total ??= listing.total
    ids.push(...listing.data.map((m) => m.message_id))
    if (listing.next == null) break
    after = listing.next
  }
  return { ids, total }
}

test('DATABASE_URL: postgres:// and postgresql:// select PostgreSQL (socket directories and sslmode pass through)', { skip: false }, () => {
  for (const url of ['postgres://u:p@db:5432/app', 'postgresql://db/app?sslmode=require', 'postgresql://u@/app?host=/var/run/postgresql', 'postgres://%2Ftmp%2Fpg/app']) {
    assert.deepEqual(parseDatabaseUrl(url), { engine: 'postgres', url, poolMax: 10 }, url)
  }
  for (const url of ['postgres://', 'postgresql:///app', 'postgres:/app', 'mysql://db/app']) assert.equal(parseDatabaseUrl(url), null, url)
  // Every session asks for synchronous_commit=on, and keeps options the URL already had.
  const options = new URL(connectionString('postgres://db/app?options=-c%20search_path%3Dx')).searchParams.get('options')
  assert.match(options!, /^-c search_path=x -c synchronous_commit=on/)
})

test('the same inputs give the same answers as the SQLite engine: order, ties, since, from, folding, totals, cursors, stats', { skip }, async (t) => {
  const store = open(t, await database(t))
  const sqlite = new SqliteStore({ filename: ':memory:', indexing: { auto: false } })
  t.after(() => sqlite.close())
  for (const m of CORPUS) {
    assert.equal(await store.save(m), await sqlite.save(m))
  }
  for (const filter of FILTERS) {
    for (const [limit, offset] of [[50, 0], [3, 2], [100, 37]] as const) {
      const [got, want] = await Promise.all([store.list({ ...filter, limit, offset }), sqlite.list({ ...filter, limit, offset })])
      assert.deepEqual(got, want, `${JSON.stringify(filter)} limit ${limit} offset ${offset}`)
    }
    assert.deepEqual(await walk(store, filter), await walk(sqlite, filter), `walk ${JSON.stringify(filter)}`)
  }
  // Searches again, now answered from the cached counts plus the rows since.
  await store.save(message('late', { ts: '2024-01-01T00:00:00Z', text: 'ORDER late' }))
  await sqlite.save(message('late', { ts: '2024-01-01T00:00:00Z', text: 'ORDER late' }))
  for (const filter of FILTERS) assert.deepEqual(await store.list({ ...filter, limit: 50, offset: 0 }), await sqlite.list({ ...filter, limit: 50, offset: 0 }))
  assert.deepEqual(await store.stats(), await sqlite.stats())
})

test('an empty store: empty pages, zero totals, the contract\'s empty /stats', { skip }, async (t) => {
  const store = open(t, await database(t))
  assert.deepEqual(await store.list({ limit: 50, offset: 0 }), { data: [], total: 0, limit: 50, offset: 0, next: null })
  assert.equal((await store.list({ limit: 50, offset: 0, q: 'x' })).total, 0)
  assert.deepEqual(await store.stats(), { total_messages: 0, senders_count: 0, messages_per_sender: [], first_message_ts: null, last_message_ts: null })
})

test('first write wins across replicas: concurrent saves of one id store one row, exactly one says created', { skip }, async (t) => {
  const url = await database(t)
  const replicas = [open(t, url), open(t, url), open(t, url)]
  await Promise.all(replicas.map((r) => r.checks())) // migrated (concurrently: the advisory lock serializes them)
  for (let round = 0; round < 20; round++) {
    const id = `race-${round}`
    const outcomes = await Promise.all(replicas.flatMap((r, i) => [r.save(message(id, { text: `replica ${i}` })), r.save(message(id, { text: `again ${i}` }))]))
    assert.equal(outcomes.filter((o) => o === 'created').length, 1, `round ${round}: ${outcomes}`)
  }
  const listing = await replicas[1]!.list({ limit: 100, offset: 0 })
  assert.equal(listing.total, 20)
  assert.equal(listing.data.length, 20)
  const stats = await replicas[2]!.stats()
  assert.equal(stats.total_messages, 20)
  assert.deepEqual(stats.messages_per_sender, [{ from: '+919876543210', count: 20 }])
})

test('saveAll: one delivery commits all its messages or none; ids repeated inside it are duplicates after the first', { skip }, async (t) => {
  const store = open(t, await database(t))
  assert.deepEqual(await store.saveAll([message('x1'), message('x2'), message('x1', { text: 'second' })]), ['created', 'created', 'duplicate'])
  assert.deepEqual(await store.saveAll([message('x2'), message('x3')]), ['duplicate', 'created'])
  const broken = { ...message('x4'), from: null } as unknown as Message // violates NOT NULL in the statement
  await assert.rejects(store.saveAll([message('x5'), broken]))
  const { data, total } = await store.list({ limit: 50, offset: 0 })
  assert.deepEqual(data.map((m) => m.message_id), ['x1', 'x2', 'x3'])
  assert.equal(data[0]!.text, 'Hello')
  assert.equal(total, 3)
  assert.equal((await store.stats()).total_messages, 3)
})

test('synchronous_commit is on for the service\'s sessions even when the database default is off', { skip }, async (t) => {
  const url = await database(t, ['synchronous_commit = off'])
  const other = new pg.Client({ connectionString: url })
  other.on('error', () => {}) // the database is dropped (WITH FORCE) when the test ends
  await other.connect()
  t.after(() => other.end())
  assert.equal((await other.query('SHOW synchronous_commit')).rows[0].synchronous_commit, 'off') // the default really is off
  const store = open(t, url)
  assert.deepEqual(await store.checks(), { database: 'ok', migrations: 'ok', writable: 'ok' }) // the probe reports its session's setting
  await store.save(message('durable'))
  const sessions = await other.query("SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = 'hookvault' AND datname = current_database()")
  assert.ok(sessions.rows[0].n >= 1)
})

test('export: one snapshot from its start, in order, in chunks; ending early releases it', { skip }, async (t) => {
  const store = open(t, await database(t))
  const rows = Array.from({ length: 2500 }, (_, i) => message(`e${String(i).padStart(4, '0')}`, { ts: `2025-01-15T10:00:${String(i % 60).padStart(2, '0')}Z`, text: i % 2 === 0 ? 'even Row' : 'odd' }))
  await store.saveAll(rows)
  const seen: string[] = []
  let chunks = 0
  for await (const chunk of store.exportMessages({ q: 'row' })) {
    if (chunks++ === 0) await store.save(message('e-late', { ts: '2025-01-15T10:00:00Z', text: 'late row' })) // committed after the snapshot
    seen.push(...chunk.map((m) => m.message_id))
  }
  assert.ok(chunks >= 2)
  const expected = (await store.list({ q: 'row', limit: 100, offset: 0 })).total
  assert.equal(expected, 1251)
  assert.equal(seen.length, 1250)
  assert.ok(!seen.includes('e-late'))
  const keys = seen.map((id) => [instantKey(rows.find((r) => r.message_id === id)!.ts)!, id].join(' '))
  assert.deepEqual(keys, [...keys].sort())
  // Stopping early: the connection goes back to the pool, with no transaction left open.
  for (let i = 0; i < 15; i++) {
    const chunks = store.exportMessages({})[Symbol.asyncIterator]()
    assert.ok(((await chunks.next()).value as unknown[]).length > 0)
    await chunks.return?.()
  }
  assert.equal((await store.list({ limit: 1, offset: 0 })).total, 2501)
})

test('deleteOlderThan: removes the oldest rows in batches and every read stays exact', { skip }, async (t) => {
  const store = open(t, await database(t))
  const sqlite = new SqliteStore({ filename: ':memory:', indexing: { auto: false } })
  t.after(() => sqlite.close())
  for (const m of CORPUS) { await store.save(m); await sqlite.save(m) }
  await store.list({ q: 'order', limit: 5, offset: 0 }) // a cached search count, which the deletion must not leave stale
  const before = instantKey('2025-01-15T10:01:00Z')!
  let deleted = 0
  for (let n = -1; n !== 0;) {
    n = await store.deleteOlderThan(before, 7)
    deleted += n
  }
  const expected = CORPUS.filter((m) => instantKey(m.ts)! < before)
  assert.equal(deleted, expected.length)
  const model = new SqliteStore({ filename: ':memory:', indexing: { auto: false } })
  t.after(() => model.close())
  for (const m of CORPUS) if (instantKey(m.ts)! >= before) await model.save(m)
  for (const filter of FILTERS) assert.deepEqual(await store.list({ ...filter, limit: 50, offset: 0 }), await model.list({ ...filter, limit: 50, offset: 0 }), JSON.stringify(filter))
  assert.deepEqual(await store.stats(), await model.stats())
  // A deleted id delivered again is stored again.
  assert.equal(await store.save(expected[0]!), 'created')
})

/** A TCP proxy in front of the test server that the test can take down and bring back (the server keeps running). */
async function outage (t: TestContext, url: string) {
  const target = new URL(url)
  const sockets = new Set<Socket>()
  let server: Server | null = null
  let port = 0
  const up = () => new Promise<void>((resolve) => {
    server = createServer((client) => {
      const upstream = connect(Number(target.port || 5432), target.hostname)
      for (const s of [client, upstream]) {
        sockets.add(s)
        s.on('error', () => {})
        s.on('close', () => { sockets.delete(s); client.destroy(); upstream.destroy() })
      }
      client.pipe(upstream).pipe(client)
    })
    server.listen(port, '127.0.0.1', () => {
      port = (server!.address() as { port: number }).port
      resolve()
    })
  })
  const down = () => new Promise<void>((resolve) => {
    for (const s of sockets) s.destroy()
    if (server === null) return resolve()
    server.close(() => resolve())
    server = null
  })
  await up()
  t.after(down)
  const proxied = new URL(url)
  proxied.hostname = '127.0.0.1'
  proxied.port = String(port)
  return { url: proxied.toString(), up, down }
}

test('database gone: StoreUnavailableError and readiness naming database; back: recovers by itself within 5 s', { skip }, async (t) => {
  const link = await outage(t, await database(t))
  const store = open(t, link.url)
  await store.save(message('before'))
  await link.down()
  await assert.rejects(store.save(message('during')), StoreUnavailableError)
  await assert.rejects(store.list({ limit: 5, offset: 0 }), StoreUnavailableError)
  await assert.rejects(store.stats(), StoreUnavailableError)
  const checks = await store.checks()
  assert.notEqual(checks.database, 'ok')
  await link.up()
  const back = performance.now()
  for (;;) {
    if ((await store.checks()).database === 'ok') break
    assert.ok(performance.now() - back < 5000, 'not recovered within 5 s')
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
  assert.equal(await store.save(message('after')), 'created')
  assert.deepEqual((await store.list({ limit: 5, offset: 0 })).data.map((m) => m.message_id), ['after', 'before'])
})

test('a start while the database is unreachable is not an error: not ready, then ready once it is reachable', { skip }, async (t) => {
  const link = await outage(t, await database(t))
  await link.down()
  const store = open(t, link.url)
  assert.notEqual((await store.checks()).database, 'ok')
  await assert.rejects(store.save(message('early')), StoreUnavailableError)
  await link.up()
  const back = performance.now()
  while ((await store.checks()).migrations !== 'ok') {
    assert.ok(performance.now() - back < 5000, 'not ready within 5 s')
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
  assert.equal(await store.save(message('later')), 'created')
})

test('the database going away in the middle of an export fails that export with StoreUnavailableError, nothing else', { skip }, async (t) => {
  const link = await outage(t, await database(t))
  const store = open(t, link.url)
  await store.saveAll(Array.from({ length: 2500 }, (_, i) => message(`x${i}`)))
  const chunks = store.exportMessages({})[Symbol.asyncIterator]()
  assert.equal(((await chunks.next()).value as unknown[]).length, 1000)
  await link.down() // while the export waits for its reader: the connection's error arrives between queries
  await new Promise((resolve) => setTimeout(resolve, 200))
  await assert.rejects(chunks.next(), StoreUnavailableError)
  await link.up()
  assert.equal(await store.save(message('after')), 'created')
})

test('deep offsets without filters seek through the time buckets and land on the same rows as SQLite', { skip }, async (t) => {
  const store = open(t, await database(t))
  const sqlite = new SqliteStore({ filename: ':memory:', indexing: { auto: false } })
  t.after(() => sqlite.close())
  // Days, minutes and seconds with several rows each, fractions and ties.
  const start = Date.UTC(2025, 0, 30, 23, 50)
  const rows = Array.from({ length: 2600 }, (_, i) => {
    const iso = new Date(start + Math.floor(i / 3) * 1700).toISOString()
    return message(`d${(i * 7919) % 2600}`, { ts: i % 3 === 2 ? iso : `${iso.slice(0, 19)}Z` })
  })
  await store.saveAll(rows)
  await sqlite.saveAll(rows)
  for (const offset of [999, 1000, 1001, 1234, 1999, 2593, 2599, 2600, 5000]) {
    assert.deepEqual(await store.list({ limit: 7, offset }), await sqlite.list({ limit: 7, offset }), `offset ${offset}`)
  }
})

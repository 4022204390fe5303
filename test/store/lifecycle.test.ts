import assert from 'node:assert/strict'
import { join } from 'node:path'
import Database from 'better-sqlite3'
import { test, type TestContext } from 'node:test'
import type { Message } from '../../schemas/messages.ts'
import { instantKey } from '../../src/lib/timestamp.ts'
import type { ExportFilter, MessageFilter } from '../../src/store/port.ts'
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.ts'
import { random } from '../../scripts/random.ts'
import { tempDir } from '../helper.ts'
import { plainMatches, plainStats } from '../helpers/plain-stats.ts'

type Rnd = () => number
const pick = <T>(rnd: Rnd, items: readonly T[]): T => items[Math.floor(rnd() * items.length)]!
const int = (rnd: Rnd, n: number) => Math.floor(rnd() * n)

const TEXTS = ['hello', 'HELLO world', 'Café', 'straße', 'é', 'ab', 'a', '😀', '"q"', '100%', '', null]

function randomTs (rnd: Rnd): string {
  const fraction = rnd() < 0.5 ? '' : `.${int(rnd, 1000)}`
  return `2025-0${1 + int(rnd, 3)}-0${1 + int(rnd, 3)}T1${int(rnd, 2)}:0${int(rnd, 3)}:0${int(rnd, 3)}${fraction}Z`
}

/** The contract's order and filters, computed the plain way over what is stored. */
function naive (rows: Iterable<Message>, filter: ExportFilter): Message[] {
  return plainMatches(rows, filter)
}

function naiveStats (rows: Iterable<Message>) {
  return plainStats(naive(rows, {}))
}

function openStore (t: TestContext, where: 'memory' | 'file'): SqliteStore {
  const filename = where === 'memory' ? ':memory:' : join(tempDir(t), 'app.db')
  const store = new SqliteStore({ filename, indexing: { auto: false } })
  t.after(() => store.close())
  return store
}

async function deliver (rnd: Rnd, store: SqliteStore, stored: Map<string, Message>, count: number, ids: () => string) {
  await Promise.all(Array.from({ length: count }, () => {
    const message: Message = { message_id: ids(), from: `+4${int(rnd, 14)}`, to: '+1', ts: randomTs(rnd), text: pick(rnd, TEXTS) }
    if (!stored.has(message.message_id)) stored.set(message.message_id, message)
    return store.save(message)
  }))
}

async function exported (store: SqliteStore, filter: ExportFilter): Promise<Message[]> {
  const rows: Message[] = []
  for await (const page of store.exportMessages(filter)) rows.push(...page)
  return rows
}

async function checkReads (rnd: Rnd, store: SqliteStore, stored: Map<string, Message>, label: string) {
  assert.deepEqual(await store.stats(), naiveStats(stored.values()), `stats ${label}`)
  for (let i = 0; i < 25; i++) {
    const filter: MessageFilter = { limit: 1 + int(rnd, 20), offset: int(rnd, 5) }
    if (rnd() < 0.4) filter.from = `+4${int(rnd, 14)}`
    if (rnd() < 0.4) filter.since = randomTs(rnd)
    if (rnd() < 0.5) filter.q = pick(rnd, ['hello', 'é', 'a', 'wor', 'ss', '😀', 'x', '%'])
    const matching = naive(stored.values(), filter)
    const got = await store.list(filter)
    assert.deepEqual(got.data, matching.slice(filter.offset, filter.offset + filter.limit), `${label} ${JSON.stringify(filter)}`)
    assert.equal(got.total, matching.length, `${label} total ${JSON.stringify(filter)}`)
    const { limit: _l, offset: _o, ...exportFilter } = filter
    assert.deepEqual(await exported(store, exportFilter), matching, `${label} export ${JSON.stringify(filter)}`)
  }
}

/** Deletes like the retention sweep does: batches until none is left before the cutoff. */
async function deleteBefore (store: SqliteStore, stored: Map<string, Message>, cutoff: string, batch: number) {
  const expected = [...stored.values()].filter((m) => instantKey(m.ts)! < instantKey(cutoff)!)
  let deleted = 0
  for (let n; (n = await store.deleteOlderThan(instantKey(cutoff)!, batch)) > 0;) {
    assert.ok(n <= batch)
    deleted += n
  }
  assert.equal(deleted, expected.length)
  for (const m of expected) stored.delete(m.message_id)
}

for (const where of ['memory', 'file'] as const) {
  test(`deletions keep listings, totals, search, stats and exports equal to the plain definition (${where})`, async (t) => {
    const rnd = random(7101)
    const store = openStore(t, where)
    const stored = new Map<string, Message>()
    let next = 0
    const fresh = () => `m${next++}`
    await deliver(rnd, store, stored, 300, fresh)
    store.catchUp(200) // indexed rows, and a tail
    await checkReads(rnd, store, stored, 'before')
    await deleteBefore(store, stored, '2025-02-02T10:00:00Z', 37)
    await checkReads(rnd, store, stored, 'after a deletion across indexed and tail rows')

    // Deleted ids delivered again are stored again, and indexed like new ones.
    const gone = Array.from({ length: 40 }, (_, i) => `m${i}`).filter((id) => !stored.has(id))
    assert.ok(gone.length > 0)
    let i = 0
    await deliver(rnd, store, stored, gone.length, () => gone[i++]!)
    for (const id of gone) assert.ok(stored.has(id))
    await checkReads(rnd, store, stored, 'after re-delivery')
    store.catchUp()
    await checkReads(rnd, store, stored, 'all indexed')

    // Everything, then new rows: their rowids restart below the old watermark, and they still count.
    await deleteBefore(store, stored, '2026-01-01T00:00:00Z', 100)
    assert.equal(stored.size, 0)
    await checkReads(rnd, store, stored, 'empty')
    await deliver(rnd, store, stored, 50, fresh)
    await checkReads(rnd, store, stored, 'new rows in the tail')
    store.catchUp(20)
    await checkReads(rnd, store, stored, 'partly indexed')
    store.catchUp()
    assert.equal(store.indexingBacklog, 0)
    await checkReads(rnd, store, stored, 'indexed')
  })
}

test('an export holds the rows committed when it started, and ending it early releases the snapshot', async (t) => {
  const filename = join(tempDir(t), 'app.db')
  const store = new SqliteStore({ filename, indexing: { auto: false } })
  t.after(() => store.close())
  const stored = new Map<string, Message>()
  const rnd = random(7102)
  let next = 0
  await deliver(rnd, store, stored, 2500, () => `s${next++}`)
  store.catchUp(1000)
  const before = naive(stored.values(), {})
  const iterator = store.exportMessages({})[Symbol.asyncIterator]()
  const first = await iterator.next()
  assert.equal(first.done, false)
  await deliver(rnd, store, stored, 500, () => `s${next++}`)
  store.catchUp()
  await store.deleteOlderThan(instantKey('2025-01-02T00:00:00Z')!, 100)
  const rows = [...first.value!]
  for (let r = await iterator.next(); r.done !== true; r = await iterator.next()) rows.push(...r.value)
  assert.deepEqual(rows, before)

  // A full checkpoint cannot reset the WAL while a snapshot is held, and can once the export stopped early.
  const probe = new Database(filename, { timeout: 0 })
  t.after(() => probe.close())
  const truncate = () => (probe.pragma('wal_checkpoint(TRUNCATE)') as Array<{ busy: number }>)[0]!.busy
  const early = store.exportMessages({})[Symbol.asyncIterator]()
  await early.next()
  await deliver(rnd, store, stored, 10, () => `s${next++}`)
  assert.equal(truncate(), 1)
  await early.return!(undefined)
  assert.equal(truncate(), 0)
})

import assert from 'node:assert/strict'
import { join } from 'node:path'
import { test, type TestContext } from 'node:test'
import type { Message } from '../../schemas/messages.ts'
import { decodeCursor, encodeCursor } from '../../src/lib/cursor.ts'
import type { MessageFilter } from '../../src/store/port.ts'
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.ts'
import { random } from '../../scripts/random.ts'
import { tempDir } from '../helper.ts'
import { plainMatches, plainStats } from '../helpers/plain-stats.ts'

type Rnd = () => number
const pick = <T>(rnd: Rnd, items: readonly T[]): T => items[Math.floor(rnd() * items.length)]!
const int = (rnd: Rnd, n: number) => Math.floor(rnd() * n)

// Characters chosen for the search rules: case pairs, folds that change length (ß → ss, İ → i̇),
// final sigma, LIKE metacharacters, quotes (FTS5 syntax), astral code points, the index's sentinel
// and U+FFFF, which FTS5 reads as U+FFFD.
const ALPHABET = ['a', 'b', 'A', 'B', 'e', 'é', 'É', 'ß', 'S', 's', 'ς', 'σ', 'Σ', '%', '_', ' ', '"', 'İ', 'i', 'ı', '😀', 'Ω', '\u0001', '\uffff', '\ufffd', '東']
const WORDS = ['hello', 'HELLO', 'Café', 'straße', 'STRASSE', '100%', 'snake_case', 'ΟΔΟΣ', 'οδος', 'naïve', '😀😀']

function randomText (rnd: Rnd): string | null {
  if (rnd() < 0.08) return null
  const parts: string[] = []
  for (let n = int(rnd, 6); n > 0; n--) parts.push(rnd() < 0.4 ? pick(rnd, WORDS) : pick(rnd, ALPHABET))
  return parts.join(rnd() < 0.5 ? ' ' : '')
}

function randomTs (rnd: Rnd): string {
  // Few distinct days, minutes and seconds, so time buckets, same-second rows and ties all occur.
  const fraction = rnd() < 0.5 ? '' : `.${String(int(rnd, 1e9)).padStart(9, '0').slice(0, 1 + int(rnd, 9))}`
  return `2025-0${1 + int(rnd, 2)}-0${1 + int(rnd, 3)}T1${int(rnd, 2)}:0${int(rnd, 3)}:0${int(rnd, 3)}${fraction}Z`
}

function randomQuery (rnd: Rnd, rows: Message[]): string {
  const text = pick(rnd, rows).text
  if (text !== null && text !== '' && rnd() < 0.6) {
    const chars = [...text]
    const start = int(rnd, chars.length)
    const q = chars.slice(start, start + 1 + int(rnd, 4)).join('')
    return rnd() < 0.3 ? q.toUpperCase() : q
  }
  return Array.from({ length: 1 + int(rnd, 3) }, () => pick(rnd, ALPHABET)).join('')
}

/** The contract's definitions computed the slow, obvious way over every stored row. */
function naive (rows: Message[], filter: MessageFilter) {
  const matching = plainMatches(rows, filter)
  return { matching, page: matching.slice(filter.offset, filter.offset + filter.limit) }
}

function naiveStats (rows: Message[]) {
  return plainStats(naive(rows, { limit: 0, offset: 0 }).matching)
}

/**
 * In memory, every plan runs on the store's one connection; on a file, scans (a search the index cannot
 * answer, a common one with `since`) run on the scan thread's own connection (scanner.ts).
 */
type Where = 'memory' | 'file'

function openStore (t: TestContext, where: Where = 'memory'): SqliteStore {
  const filename = where === 'memory' ? ':memory:' : join(tempDir(t), 'app.db')
  const store = new SqliteStore({ filename, indexing: { auto: false } })
  t.after(() => store.close())
  return store
}

/** Stores `count` random deliveries (some repeating an id: first write wins) and returns what is stored. */
async function deliverRandom (rnd: Rnd, store: SqliteStore, stored: Map<string, Message>, count: number, senders: string[]) {
  const batch: Array<Promise<unknown>> = []
  for (let i = 0; i < count; i++) {
    const id = rnd() < 0.1 && stored.size > 0
      ? pick(rnd, [...stored.keys()])
      : `${pick(rnd, ['m', 'M', 'é', '😀', '_'])}${int(rnd, 1e6)}`
    const message: Message = { message_id: id, from: pick(rnd, senders), to: '+14155550100', ts: randomTs(rnd), text: randomText(rnd) }
    if (!stored.has(id)) stored.set(id, message)
    batch.push(store.save(message))
  }
  await Promise.all(batch)
}

async function checkQueries (rnd: Rnd, store: SqliteStore, rows: Message[], senders: string[], rounds: number) {
  for (let i = 0; i < rounds; i++) {
    const filter: MessageFilter = { limit: 1 + int(rnd, 12), offset: rnd() < 0.7 ? 0 : int(rnd, 40) }
    if (rnd() < 0.35) filter.from = pick(rnd, senders)
    if (rnd() < 0.35) filter.since = randomTs(rnd)
    if (rnd() < 0.6) filter.q = randomQuery(rnd, rows)
    const { matching, page } = naive(rows, filter)
    const got = await store.list(filter)
    const label = JSON.stringify(filter)
    assert.deepEqual(got.data, page, label)
    assert.equal(got.total, matching.length, label)
    assert.equal(got.limit, filter.limit)
    assert.equal(got.offset, filter.offset)
    // A next position exactly when rows follow this page.
    assert.equal(got.next != null, filter.offset + filter.limit < matching.length, label)

    // Keyset paging from the start visits exactly the rows offset paging does, in order.
    const walked: Message[] = []
    let after: MessageFilter['after']
    for (let pages = 0; pages <= matching.length; pages++) {
      const { offset: _, ...rest } = filter
      const next = await store.list({ ...rest, offset: 0, ...(after === undefined ? {} : { after }) })
      assert.equal(next.total, matching.length, label)
      walked.push(...next.data)
      if (next.next == null) break
      // Through the opaque cursor, as a client would get it.
      after = decodeCursor(encodeCursor(next.next))!
    }
    assert.deepEqual(walked, matching, `keyset ${label}`)
  }
}

for (const where of ['memory', 'file'] as const) {
  test(`list: every plan equals the plain definition, with rows indexed, in the tail, and both (${where})`, async (t) => {
    const rnd = random(6001)
    const store = openStore(t, where)
    const senders = Array.from({ length: 9 }, (_, i) => `+91${i}${i}`)
    const stored = new Map<string, Message>()

    await deliverRandom(rnd, store, stored, 250, senders)
    await checkQueries(rnd, store, [...stored.values()], senders, 60) // nothing indexed yet: all tail
    store.catchUp(120)
    await checkQueries(rnd, store, [...stored.values()], senders, 60) // half indexed
    store.catchUp()
    await deliverRandom(rnd, store, stored, 150, senders)
    await checkQueries(rnd, store, [...stored.values()], senders, 60) // indexed, plus a new tail
    store.catchUp()
    assert.equal(store.indexingBacklog, 0)
    await checkQueries(rnd, store, [...stored.values()], senders, 60) // all indexed
  })
}

test('search: 1- and 2-character, non-ASCII, quote, %, _ and sentinel queries equal a naive substring scan', async (t) => {
  const rnd = random(6002)
  const store = openStore(t)
  const stored = new Map<string, Message>()
  await deliverRandom(rnd, store, stored, 400, ['+1', '+2'])
  store.catchUp(300)
  const rows = [...stored.values()]
  const queries = [...ALPHABET, 'ss', 'SS', 'ẞ', 'Σ', 'ς', 'i̇', 'é ', '%_', '""', '"a', 'a"', '😀😀', 'hello', 'STRASSE', 'ΟΔΟΣ', 'οδοσ',
    'zz', 'z', '\u0001\u0001', 'b\uffff', '\ud800', 'snake_case', '100%', 'Café straße', 'x'.repeat(5)]
  for (const q of queries) {
    for (const offset of [0, 3]) {
      const filter = { limit: 5, offset, q }
      const { matching, page } = naive(rows, filter)
      const got = await store.list(filter)
      assert.deepEqual(got.data, page, JSON.stringify(filter))
      assert.equal(got.total, matching.length, JSON.stringify(filter))
    }
  }
  // A cached count stays right as the indexer moves on.
  await store.list({ limit: 5, offset: 0, q: 'hello' })
  await deliverRandom(rnd, store, stored, 100, ['+1', '+2'])
  store.catchUp(50)
  const { matching } = naive([...stored.values()], { limit: 5, offset: 0, q: 'hello' })
  assert.equal((await store.list({ limit: 5, offset: 0, q: 'hello' })).total, matching.length)
  store.catchUp()
  assert.equal((await store.list({ limit: 5, offset: 0, q: 'hello' })).total, matching.length)
})

for (const where of ['memory', 'file'] as const) {
  test(`a large data set where search takes the index, the scan and the vocabulary paths (${where})`, async (t) => {
    const rnd = random(6003)
    const store = openStore(t, where)
    const stored = new Map<string, Message>()
    const common = ['the', 'order', 'shipped', 'paid']
    const saves: Array<Promise<unknown>> = []
    for (let i = 0; i < 4000; i++) {
      const words = Array.from({ length: 2 + int(rnd, 5) }, () => pick(rnd, common))
      if (i % 500 === 7) words.push('Zqx-ÉTÉ') // rare: 8 rows
      if (i % 1000 === 3) words.push('ж') // rare single character
      const message: Message = { message_id: `id${i}`, from: `+${int(rnd, 30)}`, to: '+1', ts: randomTs(rnd), text: words.join(' ') }
      stored.set(message.message_id, message)
      saves.push(store.save(message))
    }
    await Promise.all(saves)
    store.catchUp(3500)
    const rows = [...stored.values()]
    // Deep offsets without filters seek through the time buckets; tail rows (the last 500) are counted in.
    for (const offset of [999, 1000, 1001, 1777, 2500, 3333, 3999, 4000, 4100]) {
      for (const limit of [1, 50]) {
        const { matching, page } = naive(rows, { limit, offset })
        const got = await store.list({ limit, offset })
        assert.deepEqual(got.data, page, `offset ${offset}`)
        assert.equal(got.total, matching.length)
        assert.equal(got.next != null, offset + limit < matching.length)
      }
    }
    for (const q of ['the', 'ORDER', 'zqx', 'zqx-été', 'ж', 'Ж', 'zq', 'x-', 'e', 'th', 'paid ord', 'q', 'xyz']) {
      for (const [limit, offset] of [[50, 0], [3, 6], [100, 1000]] as const) {
        const filter = { limit, offset, q }
        const { matching, page } = naive(rows, filter)
        const got = await store.list(filter)
        assert.deepEqual(got.data, page, JSON.stringify(filter))
        assert.equal(got.total, matching.length, JSON.stringify(filter))
        const since = { ...filter, since: '2025-01-02T10:01:00Z' }
        const expected = naive(rows, since)
        const withSince = await store.list(since)
        assert.deepEqual(withSince.data, expected.page, JSON.stringify(since))
        assert.equal(withSince.total, expected.matching.length, JSON.stringify(since))
      }
    }
  })
}

test('stats equal a recomputation, with rows indexed, in the tail, and both', async (t) => {
  const rnd = random(6004)
  const store = openStore(t)
  assert.deepEqual(await store.stats(), naiveStats([]))
  const stored = new Map<string, Message>()
  // Skewed senders, so the top 10 changes as the tail is merged in.
  const senders = Array.from({ length: 25 }, (_, i) => `+44${String(i).padStart(2, '0')}`)
  for (let round = 0; round < 8; round++) {
    await deliverRandom(rnd, store, stored, 60, senders.slice(0, 5 + round * 3))
    assert.deepEqual(await store.stats(), naiveStats([...stored.values()]), `round ${round}, before indexing`)
    store.catchUp(int(rnd, 80))
    assert.deepEqual(await store.stats(), naiveStats([...stored.values()]), `round ${round}, partly indexed`)
  }
  store.catchUp()
  assert.deepEqual(await store.stats(), naiveStats([...stored.values()]))
})

test('the read models survive a restart, and a backlog left behind is indexed by the next start', async (t) => {
  const filename = join(tempDir(t), 'app.db')
  const rnd = random(6005)
  const stored = new Map<string, Message>()
  const first = new SqliteStore({ filename, indexing: { auto: false } })
  await deliverRandom(rnd, first, stored, 200, ['+1', '+2', '+3'])
  first.catchUp(90)
  await first.close()

  const second = new SqliteStore({ filename, indexing: { auto: true, idleMs: 1 } })
  t.after(() => second.close())
  assert.equal(second.indexingBacklog, stored.size - 90)
  for (let i = 0; i < 200 && second.indexingBacklog > 0; i++) await new Promise((resolve) => setTimeout(resolve, 5))
  assert.equal(second.indexingBacklog, 0)
  const rows = [...stored.values()]
  assert.deepEqual(await second.stats(), naiveStats(rows))
  for (const filter of [{ limit: 100, offset: 0, from: '+2' }, { limit: 7, offset: 3, q: 'é' }, { limit: 9, offset: 0, since: '2025-01-02T11:00:00Z' }]) {
    const { matching, page } = naive(rows, filter)
    const got = await second.list(filter)
    assert.deepEqual(got.data, page)
    assert.equal(got.total, matching.length)
  }
})

test('deep offsets seek correctly when tail rows fall before, between and after the indexed time buckets', async (t) => {
  const rnd = random(6006)
  const store = openStore(t)
  const stored = new Map<string, Message>()
  const save = (hourPrefix: string, i: number, id = `${hourPrefix}-${i}`) => {
    const message: Message = {
      message_id: id,
      from: '+1',
      to: '+2',
      // An hour ('…T10': minutes 00–02) or a ten-minute prefix ('…T10:5': minutes 50–59).
      ts: `${hourPrefix.length === 13 ? `${hourPrefix}:0${int(rnd, 3)}` : `${hourPrefix}${int(rnd, 10)}`}:0${int(rnd, 4)}.${int(rnd, 1000)}Z`,
      text: null
    }
    stored.set(message.message_id, message)
    return store.save(message)
  }
  // Indexed: 1200 rows on each of two days, minutes 00–02.
  await Promise.all(Array.from({ length: 2400 }, (_, i) => save(i % 2 === 0 ? '2025-01-11T10' : '2025-01-13T10', i)))
  store.catchUp()
  // Tail: before everything, in a day between, after everything, and in empty minutes inside both days.
  const gaps = ['2025-01-10T10', '2025-01-12T10', '2025-01-14T10', '2025-01-11T09', '2025-01-11T11', '2025-01-13T10:5']
  await Promise.all(Array.from({ length: 300 }, (_, i) => save(gaps[i % gaps.length]!, i, `tail-${i}`)))
  const rows = [...stored.values()]
  for (let offset = 1000; offset <= 2710; offset += 7) {
    const { matching, page } = naive(rows, { limit: 5, offset })
    const got = await store.list({ limit: 5, offset })
    assert.deepEqual(got.data, page, `offset ${offset}`)
    assert.equal(got.total, matching.length)
  }
})

import assert from 'node:assert/strict'
import { join } from 'node:path'
import { test, type TestContext } from 'node:test'
import type { Message } from '../../schemas/messages.ts'
import { instantKey } from '../../src/lib/timestamp.ts'
import type { MessageFilter } from '../../src/store/port.ts'
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.ts'
import { random } from '../../scripts/random.ts'
import { tempDir } from '../helper.ts'
import { plainMatches, plainStats } from '../helpers/plain-stats.ts'
import { walProgress } from '../helpers/wal.ts'

// A database file indexes on the index thread (index-thread.ts) inside slots (SqliteStore): these tests
// act while a slot is open and check that reads stay exact and every other writer waits for its end.

const turn = () => new Promise((resolve) => setImmediate(resolve))
const SENDERS = ['+111', '+222', '+333', '+444', '+555']
const WORDS = ['hello', 'Straße', 'café', 'ok', 'naïve', 'zzz']

function rows (seed: number, count: number, prefix = 'm'): Message[] {
  const rnd = random(seed)
  const int = (n: number) => Math.floor(rnd() * n)
  return Array.from({ length: count }, (_, i) => ({
    message_id: `${prefix}${i}`,
    from: SENDERS[int(SENDERS.length)]!,
    to: '+1000',
    ts: `2025-01-0${1 + int(3)}T1${int(3)}:0${int(4)}:0${int(9)}.${int(1000)}Z`,
    text: rnd() < 0.1 ? null : `${WORDS[int(WORDS.length)]} ${WORDS[int(WORDS.length)]}`
  }))
}

const FILTERS: MessageFilter[] = [
  { limit: 20, offset: 0 },
  { limit: 15, offset: 7, from: '+222' },
  { limit: 10, offset: 0, since: '2025-01-02T11:00:00Z' },
  { limit: 10, offset: 3, q: 'hello' },
  { limit: 10, offset: 0, q: 'caf', from: '+333' },
  { limit: 5, offset: 0, q: 'ss', since: '2025-01-03T00:00:00Z' }
]

/**
 * A file whose messages are all in the tail (stored with indexing off), then opened with indexing on:
 * the new store starts catching up on its own, one small slice per slot.
 */
async function backlog (t: TestContext, stored: Message[], sliceRows = 60): Promise<{ store: SqliteStore, filename: string }> {
  const filename = join(tempDir(t), 'app.db')
  const seeding = new SqliteStore({ filename, indexing: { auto: false } })
  await seeding.saveAll(stored)
  await seeding.close()
  const store = new SqliteStore({ filename, indexing: { auto: true, idleMs: 1, sliceRows } })
  t.after(() => store.close())
  return { store, filename }
}

/** Waits (a few seconds at most: a failed slice is retried after a second) until a slot is open. */
async function slotOpen (store: SqliteStore): Promise<void> {
  const deadline = performance.now() + 5000
  while (!store.indexingSlotOpen && performance.now() < deadline) await turn()
  assert.ok(store.indexingSlotOpen, 'a slot opened')
}

async function caughtUp (store: SqliteStore): Promise<void> {
  for (let i = 0; i < 1000 && (store.indexingBacklog > 0 || store.indexingSlotOpen); i++) await new Promise((resolve) => setTimeout(resolve, 5))
  assert.equal(store.indexingBacklog, 0, 'the backlog was indexed')
}

/** Every read of FILTERS and /stats equals the plain definition over `stored`. */
async function assertExact (store: SqliteStore, stored: Message[], label: string): Promise<void> {
  for (const filter of FILTERS) {
    const matching = plainMatches(stored, filter)
    const got = await store.list(filter)
    assert.deepEqual(got.data, matching.slice(filter.offset, filter.offset + filter.limit), `${label} ${JSON.stringify(filter)}`)
    assert.equal(got.total, matching.length, `${label} ${JSON.stringify(filter)}`)
  }
  assert.deepEqual(await store.stats(), plainStats(plainMatches(stored, {})), `${label} stats`)
}

test('reads issued continuously while the index thread catches up equal the plain definition at every moment', async (t) => {
  const stored = rows(7001, 2500)
  const { store } = await backlog(t, stored)
  assert.equal(store.indexingBacklog, stored.length)
  let inSlot = 0
  let reads = 0
  while (store.indexingBacklog > 0 || store.indexingSlotOpen) {
    if (store.indexingSlotOpen) inSlot++
    await assertExact(store, stored, `read ${reads} (backlog ${store.indexingBacklog})`)
    reads++
    await turn()
  }
  assert.ok(inSlot >= 3, `reads ran during slots (${inSlot} of ${reads})`)
  await assertExact(store, stored, 'caught up')
})

test('deliveries submitted during a slot are committed after it ends, and all resolve', async (t) => {
  const stored = rows(7002, 1500)
  const { store } = await backlog(t, stored)
  await slotOpen(store)
  const late = rows(7003, 50, 'late')
  const outcomes = await Promise.all(late.map((m) => store.save(m).then((outcome) => ({ outcome, slotOpen: store.indexingSlotOpen }))))
  assert.deepEqual(outcomes, late.map(() => ({ outcome: 'created', slotOpen: false })))
  await assertExact(store, [...stored, ...late], 'after the deliveries')
  await caughtUp(store)
  await assertExact(store, [...stored, ...late], 'caught up')
})

test('retention during a slot waits for its end, then deletes and keeps reads exact', async (t) => {
  const stored = rows(7004, 2000)
  const { store } = await backlog(t, stored)
  await slotOpen(store)
  const before = '2025-01-02T00:00:00Z'
  const old = stored.filter((m) => m.ts < before)
  assert.equal(await store.deleteOlderThan(instantKey(before)!, 100_000), old.length)
  const kept = stored.filter((m) => m.ts >= before)
  await assertExact(store, kept, 'after retention')
  await caughtUp(store)
  await assertExact(store, kept, 'caught up')
})

test('the readiness probe during a slot waits for its end: its write and the slice both succeed', async (t) => {
  const { store } = await backlog(t, rows(7009, 6000), 1500)
  for (let probe = 0; probe < 3; probe++) {
    await slotOpen(store)
    const backlogBefore = store.indexingBacklog
    // The first slot includes the thread's start; later ones, a slice long enough to be mid-write.
    await new Promise((resolve) => setTimeout(resolve, 3))
    assert.deepEqual(await store.checks(), { database: 'ok', migrations: 'ok', writable: 'ok' }, `probe ${probe}`)
    // A probe that took the write lock first would have failed the slice (SQLITE_BUSY on the thread).
    assert.ok(store.indexingBacklog < backlogBefore, `the slice of probe ${probe} committed`)
  }
  await caughtUp(store)
})

test('the thread starting up holds nothing: a delivery meanwhile commits before the first slice', async (t) => {
  const stored = rows(7010, 1000)
  const { store } = await backlog(t, stored)
  // The scheduler has asked for the thread by now (idleMs 1); starting it takes far longer than a commit.
  await new Promise((resolve) => setTimeout(resolve, 20))
  assert.equal(store.indexingSlotOpen, false, 'no slot while the thread starts')
  const late = rows(7011, 1, 'late')[0]!
  assert.equal(await store.save(late), 'created')
  assert.equal(store.indexingBacklog, stored.length + 1, 'committed before any slice')
  await caughtUp(store)
  await assertExact(store, [...stored, late], 'caught up')
})

test('the WAL starts over while the thread catches up, although every slice commits under a pinned snapshot', async (t) => {
  const { store, filename } = await backlog(t, rows(7012, 6000), 60)
  let frames = 0
  let restarts = 0
  while (store.indexingBacklog > 0 || store.indexingSlotOpen) {
    const now = walProgress(filename).frames
    if (now < frames) restarts++
    frames = now
    await new Promise((resolve) => setTimeout(resolve, 2))
  }
  assert.ok(restarts > 0, 'the WAL started over at least once')
})

test('catchUp() during a slot refuses with a clear error instead of writing beside the thread', async (t) => {
  const { store } = await backlog(t, rows(7005, 1000))
  await slotOpen(store)
  assert.throws(() => store.catchUp(), /index slice runs on the index thread/)
  await caughtUp(store)
})

test('close() during a slot finishes cleanly: deliveries it held are committed, and the file reopens consistent', async (t) => {
  const stored = rows(7006, 1500)
  const { store, filename } = await backlog(t, stored)
  await slotOpen(store)
  const late = rows(7007, 20, 'late')
  const saved = Promise.all(late.map((m) => store.save(m)))
  await store.close()
  assert.deepEqual(await saved, late.map(() => 'created'))

  const reopened = new SqliteStore({ filename, indexing: { auto: false } })
  t.after(() => reopened.close())
  assert.ok(reopened.indexingBacklog > 0 && reopened.indexingBacklog < stored.length + late.length, 'part of the backlog was indexed')
  await assertExact(reopened, [...stored, ...late], 'reopened')
  reopened.catchUp()
  await assertExact(reopened, [...stored, ...late], 'reopened, caught up')
})

for (const when of ['while it writes', 'after it committed and replied, before the reply is read'] as const) {
  test(`the index thread dying mid-slot (${when}) leaves reads exact, and indexing resumes with a new thread`, async (t) => {
    const stored = rows(7008, 2500)
    const { store } = await backlog(t, stored, when === 'while it writes' ? 60 : 400)
    for (let kill = 0; kill < 3; kill++) {
      await slotOpen(store)
      const backlogBefore = store.indexingBacklog
      if (when !== 'while it writes') {
        // The event loop stays busy while the thread commits and posts its reply: the reply and the exit race.
        const until = performance.now() + 300
        while (performance.now() < until);
      }
      await store.stopIndexThread()
      assert.ok(store.indexingBacklog <= backlogBefore)
      await assertExact(store, stored, `after kill ${kill}`)
    }
    await caughtUp(store)
    await assertExact(store, stored, 'caught up')
  })
}

import assert from 'node:assert/strict'
import { join } from 'node:path'
import { test, type TestContext } from 'node:test'
import type { Message } from '../../schemas/messages.ts'
import type { MessageFilter } from '../../src/store/port.ts'
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.ts'
import { random } from '../../scripts/random.ts'
import { tempDir } from '../helper.ts'
import { plainMatches } from '../helpers/plain-stats.ts'

// A common word with `since` is counted from per-hour counts of its matches plus an exact count inside
// since's own hour (search-hours.ts). These rows spread over a few hours with every minute and second,
// so since falls in either half of its hour, on an hour's edge, before and after all rows.

const WORDS = ['the', 'order', 'The', 'ORDER', 'paid', 'straße', 'STRASSE']

const SINCES = ['2025-03-04T09:00:00Z', '2025-03-04T10:00:00Z', '2025-03-04T10:12:30.5Z', '2025-03-04T11:29:59Z', '2025-03-04T11:30:00Z',
  '2025-03-04T12:47:01Z', '2025-03-04T13:59:59.5Z', '2025-03-04T14:00:00Z']

function openStore (t: TestContext, where: 'memory' | 'file'): SqliteStore {
  const store = new SqliteStore({ filename: where === 'memory' ? ':memory:' : join(tempDir(t), 'app.db'), indexing: { auto: false } })
  t.after(() => store.close())
  return store
}

async function deliver (store: SqliteStore, stored: Map<string, Message>, rnd: () => number, count: number, prefix: string) {
  const saves: Array<Promise<unknown>> = []
  for (let i = 0; i < count; i++) {
    const [hour, minute, second] = [10 + Math.floor(rnd() * 4), Math.floor(rnd() * 60), Math.floor(rnd() * 60)]
    const pad = (n: number) => String(n).padStart(2, '0')
    const text = rnd() < 0.05 ? null : Array.from({ length: 1 + Math.floor(rnd() * 4) }, () => WORDS[Math.floor(rnd() * WORDS.length)]).join(' ')
    const message: Message = { message_id: `${prefix}${i}`, from: '+1', to: '+2', ts: `2025-03-04T${pad(hour)}:${pad(minute)}:${pad(second)}${rnd() < 0.5 ? '' : '.5'}Z`, text }
    stored.set(message.message_id, message)
    saves.push(store.save(message))
  }
  // Rows exactly at each since, which `since` keeps: the count inside since's hour must include them.
  for (const [i, ts] of SINCES.entries()) {
    const message: Message = { message_id: `${prefix}at${i}`, from: '+1', to: '+2', ts, text: 'the order' }
    stored.set(message.message_id, message)
    saves.push(store.save(message))
  }
  await Promise.all(saves)
}

async function check (store: SqliteStore, stored: Map<string, Message>, label: string) {
  for (const q of ['the', 'order', 'strasse', 'e']) {
    for (const since of SINCES) {
      for (const [limit, offset] of [[5, 0], [20, 40]] as const) {
        const filter: MessageFilter = { limit, offset, q, since }
        const matching = plainMatches(stored.values(), filter)
        const got = await store.list(filter)
        assert.equal(got.total, matching.length, `${label} ${JSON.stringify(filter)}`)
        assert.deepEqual(got.data, matching.slice(offset, offset + limit), `${label} ${JSON.stringify(filter)}`)
      }
    }
  }
}

for (const where of ['memory', 'file'] as const) {
  test(`a common search with since is exact as its hour counts are built, brought up to date and forgotten (${where})`, async (t) => {
    const rnd = random(7101)
    const store = openStore(t, where)
    const stored = new Map<string, Message>()
    await deliver(store, stored, rnd, 3000, 'a')
    store.catchUp(2000)
    await check(store, stored, 'built with a tail')
    // Later and earlier sinces than the counts cover, after more rows were indexed (a few, then many).
    await deliver(store, stored, rnd, 1500, 'b')
    store.catchUp(300)
    await check(store, stored, 'a few rows indexed since')
    store.catchUp()
    await check(store, stored, 'every row indexed')
    // Retention deletes the oldest rows: the counts are forgotten and counted again.
    const deleted = await store.deleteOlderThan('2025-03-04T11:15:00.000000000Z', 100_000)
    assert.ok(deleted > 0)
    for (const [id, m] of stored) if (m.ts < '2025-03-04T11:15') stored.delete(id)
    await check(store, stored, 'after a deletion')
  })
}

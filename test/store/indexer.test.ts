import assert from 'node:assert/strict'
import { join } from 'node:path'
import { test } from 'node:test'
import Database from 'better-sqlite3'
import type { Message } from '../../schemas/messages.ts'
import { IndexWriter } from '../../src/store/sqlite/indexer.ts'
import { registerFoldCase } from '../../src/store/sqlite/search-text.ts'
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.ts'
import { tempDir } from '../helper.ts'
import { plainMatches, plainStats } from '../helpers/plain-stats.ts'

const message = (i: number): Message => ({ message_id: `m${i}`, from: `+${i % 4}`, to: '+9', ts: `2025-01-01T10:00:${String(i % 60).padStart(2, '0')}Z`, text: `hello ${i}` })

test('a slice committed by a connection the store does not know of is not applied on top: the state is read again', async (t) => {
  const filename = join(tempDir(t), 'app.db')
  const store = new SqliteStore({ filename, indexing: { auto: false } })
  t.after(() => store.close())
  const stored = Array.from({ length: 300 }, (_, i) => message(i))
  await store.saveAll(stored)
  store.catchUp(50)

  // As if the index thread had committed a slice and died before its reply was read.
  const other = new Database(filename)
  registerFoldCase(other)
  assert.equal(new IndexWriter(other).write(100).rows.length, 100)
  other.close()

  store.catchUp(70) // starts from the database's watermark (150), not the store's (50)
  assert.equal(store.indexingBacklog, 300 - 220)
  const all = plainMatches(stored, {})
  assert.deepEqual(await store.stats(), plainStats(all))
  const page = await store.list({ limit: 10, offset: 0, from: '+1' })
  assert.equal(page.total, plainMatches(stored, { from: '+1' }).length)
  assert.equal((await store.list({ limit: 5, offset: 0 })).total, 300)
  store.catchUp()
  assert.deepEqual(await store.stats(), plainStats(all))
})

import assert from 'node:assert/strict'
import { join } from 'node:path'
import { test } from 'node:test'
import Database from 'better-sqlite3'
import type { Message } from '../../schemas/messages.ts'
import { StoreUnavailableError } from '../../src/store/errors.ts'
import { GroupCommit } from '../../src/store/group-commit.ts'
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.ts'
import { tempDir } from '../helper.ts'

const turn = () => new Promise((resolve) => setImmediate(resolve))

test('items of one event-loop turn share one commit; a failed commit rejects only its own batch', async () => {
  const batches: string[][] = []
  const commits = new GroupCommit<string, string>((items) => {
    batches.push(items)
    if (items.includes('poison')) throw new Error('commit failed')
    return items.map((item) => `ok:${item}`)
  })
  const first = Promise.allSettled([commits.submit('a'), commits.submit('poison'), commits.submit('b')])
  await turn()
  const second = Promise.allSettled([commits.submit('c'), commits.submit('d')])
  const settled = [...await first, ...await second]
  assert.deepEqual(batches, [['a', 'poison', 'b'], ['c', 'd']])
  assert.deepEqual(settled.map((s) => s.status), ['rejected', 'rejected', 'rejected', 'fulfilled', 'fulfilled'])
  assert.deepEqual(settled.slice(3).map((s) => (s as PromiseFulfilledResult<string>).value), ['ok:c', 'ok:d'])
})

test('nothing resolves before its batch committed', async () => {
  let committed = false
  const commits = new GroupCommit<number, number>((items) => {
    committed = true
    return items
  })
  const result = commits.submit(1).then((value) => ({ value, committed }))
  assert.equal(committed, false)
  assert.deepEqual(await result, { value: 1, committed: true })
})

const message = (id: string): Message => ({ message_id: id, from: '+1', to: '+2', ts: '2025-01-15T10:00:00Z', text: id })

test('a batch that cannot commit (database locked) answers 503s and stores nothing; the next batch is unaffected', async (t) => {
  const filename = join(tempDir(t), 'app.db')
  const store = new SqliteStore({ filename, busyTimeoutMs: 10, indexing: { auto: false } })
  t.after(() => store.close())
  assert.equal(await store.save(message('before')), 'created')

  const other = new Database(filename)
  other.exec('BEGIN IMMEDIATE') // another process holds the write lock
  const blocked = await Promise.allSettled([store.save(message('x')), store.save(message('y'))])
  for (const outcome of blocked) {
    assert.equal(outcome.status, 'rejected')
    assert.ok((outcome as PromiseRejectedResult).reason instanceof StoreUnavailableError)
  }
  other.exec('ROLLBACK')
  other.close()

  assert.deepEqual(await Promise.all([store.save(message('x')), store.save(message('before'))]), ['created', 'duplicate'])
  const page = await store.list({ limit: 10, offset: 0 })
  assert.deepEqual(page.data.map((m) => m.message_id), ['before', 'x'])
  assert.equal(page.total, 2)
  assert.equal((await store.stats()).total_messages, 2)
})

test('saveAll commits one delivery as a whole: a message that cannot be stored takes the others with it', async (t) => {
  const store = new SqliteStore({ filename: ':memory:' })
  t.after(() => store.close())
  const broken = { ...message('b2'), from: null } as unknown as Message // violates NOT NULL at the INSERT
  await assert.rejects(store.saveAll([message('b1'), broken, message('b3')]))
  assert.equal((await store.list({ limit: 100, offset: 0 })).total, 0, 'nothing of the failed delivery is stored')
  assert.deepEqual(await store.saveAll([message('b1'), message('b1'), message('b3')]), ['created', 'duplicate', 'created'])
  assert.deepEqual(await store.saveAll([message('b3')]), ['duplicate'])
})

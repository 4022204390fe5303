import assert from 'node:assert/strict'
import { readdirSync, renameSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import { test, type TestContext } from 'node:test'
import { StoreUnavailableError } from '../../src/store/errors.ts'
import { GuardedSqliteStore } from '../../src/store/sqlite/guarded-store.ts'
import { tempDir } from '../helper.ts'

const message = (id: string) => ({ message_id: id, from: '+1', to: '+2', ts: '2025-01-15T10:00:00Z', text: null })

function open (t: TestContext, filename: string): GuardedSqliteStore {
  const store = new GuardedSqliteStore({ filename })
  t.after(() => store.close())
  return store
}

async function ids (store: GuardedSqliteStore): Promise<string[]> {
  return (await store.list({ limit: 100, offset: 0 })).data.map((m) => m.message_id)
}

async function rejectsUnavailable (promise: Promise<unknown>, detail: RegExp): Promise<void> {
  await assert.rejects(promise, (error: unknown) => error instanceof StoreUnavailableError && detail.test(error.message))
}

test('a removed database file: the commit that went into the unlinked file is refused, and the file is restored in place', async (t) => {
  const file = join(tempDir(t), 'app.db')
  const store = open(t, file)
  assert.equal(await store.save(message('a')), 'created')
  rmSync(file)
  await rejectsUnavailable(store.save(message('b')), /database file missing/)
  // The directory is there, so the next write brings the file back from the still-open connection.
  assert.equal(await store.save(message('c')), 'created')
  assert.deepEqual(await ids(store), ['a', 'b', 'c'])
  assert.deepEqual(await store.checks(), { database: 'ok', migrations: 'ok', writable: 'ok' })

  const reopened = open(t, `${file}`)
  assert.deepEqual(await ids(reopened), ['a', 'b', 'c'], 'the restored file holds every acknowledged row')
})

test('a file moved over the database: the new file is used, ours is kept beside it', async (t) => {
  const dir = tempDir(t)
  const file = join(dir, 'app.db')
  const store = open(t, file)
  await store.save(message('ours'))
  const other = new GuardedSqliteStore({ filename: join(dir, 'other', 'backup.db') })
  await other.save(message('theirs'))
  await other.close()
  renameSync(join(dir, 'other', 'backup.db'), file)

  await rejectsUnavailable(store.save(message('refused')), /database file replaced/)
  assert.equal(await store.save(message('after')), 'created')
  assert.deepEqual(await ids(store), ['after', 'theirs'])
  const orphaned = readdirSync(dir).filter((name) => name.startsWith('app.db.orphaned-'))
  assert.equal(orphaned.length, 1)
  const kept = open(t, join(dir, orphaned[0]!))
  assert.deepEqual(await ids(kept), ['ours', 'refused'])
})

test('a removed WAL: checkpointed into the database file, then a fresh WAL', async (t) => {
  const file = join(tempDir(t), 'app.db')
  const store = open(t, file)
  await store.save(message('a'))
  rmSync(`${file}-wal`)
  await rejectsUnavailable(store.save(message('b')), /journal missing/)
  assert.equal(await store.save(message('c')), 'created')
  await store.close()
  assert.deepEqual(await ids(open(t, file)), ['a', 'b', 'c'])
})

test('a missing directory is not recreated: writes wait with 503, readiness names it, reads still answer', async (t) => {
  const dir = join(tempDir(t), 'volume')
  const store = open(t, join(dir, 'app.db'))
  await store.save(message('a'))
  rmSync(dir, { recursive: true })
  const checks = await store.checks()
  assert.equal(checks.database, 'database directory missing')
  await rejectsUnavailable(store.save(message('b')), /directory missing/)
  await rejectsUnavailable(store.save(message('c')), /directory missing/)
  assert.deepEqual(await ids(store), ['a'])
  assert.throws(() => readdirSync(dir))
})

import assert from 'node:assert/strict'
import { join } from 'node:path'
import { test } from 'node:test'
import Database from 'better-sqlite3'
import { buildApp } from '../../src/app.ts'
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.ts'
import { build, deliver, message, tempDir, testConfig } from '../helper.ts'

test('messages survive a restart on a file database, and the journal is WAL with synchronous=FULL', async (t) => {
  const dir = tempDir(t)
  const url = `sqlite:///${join(dir, 'nested', 'app.db')}`
  const first = await buildApp(testConfig({ DATABASE_URL: url }))
  assert.equal((await deliver(first, message({ message_id: 'kept' }))).statusCode, 200)
  await first.close()

  const db = new Database(join(dir, 'nested', 'app.db'), { readonly: true })
  assert.equal(db.pragma('journal_mode', { simple: true }), 'wal')
  assert.equal((db.prepare('SELECT count(*) AS n FROM messages').get() as { n: number }).n, 1)
  assert.ok((db.pragma('user_version', { simple: true }) as number) >= 1)
  db.close()

  const { app } = await build(t, { DATABASE_URL: url })
  const page = (await app.inject('/messages')).json()
  assert.deepEqual(page.data.map((m: { message_id: string }) => m.message_id), ['kept'])
  assert.equal((await deliver(app, message({ message_id: 'kept', text: 'again' }))).statusCode, 200)
  assert.equal((await app.inject('/messages')).json().data[0].text, 'Hello')
  assert.equal((await app.inject('/health/ready')).statusCode, 200)
})

test('the store\'s own connection commits with synchronous=FULL: a commit returns only after the WAL is synced', (t) => {
  // synchronous is a setting of each connection; another connection on the file would show its own default.
  const store = new SqliteStore({ filename: join(tempDir(t), 'app.db'), indexing: { auto: false } })
  t.after(() => store.close())
  assert.deepEqual(store.durability(), { journalMode: 'wal', synchronous: 2 }) // 2 = FULL, 1 = NORMAL
})

test('a delivery saved in the same turn as the close is committed by the close, not refused', async (t) => {
  const filename = join(tempDir(t), 'app.db')
  const store = new SqliteStore({ filename, indexing: { auto: false } })
  const saved = store.save({ message_id: 'last', from: '+919876543210', to: '+14155550100', ts: '2025-01-15T10:00:00Z', text: 'bye' })
  const closed = store.close() // same turn: the group commit has not run yet
  assert.equal(await saved, 'created')
  await closed
  const db = new Database(filename, { readonly: true, fileMustExist: true })
  t.after(() => db.close())
  assert.equal(db.prepare('SELECT text FROM messages WHERE message_id = ?').pluck().get('last'), 'bye')
})

test('the contract columns exist with the contract names', async (t) => {
  const dir = tempDir(t)
  const url = `sqlite:///${join(dir, 'app.db')}`
  const app = await buildApp(testConfig({ DATABASE_URL: url }))
  await app.ready()
  await app.close()
  const db = new Database(join(dir, 'app.db'), { readonly: true })
  const columns = db.prepare('PRAGMA table_info(messages)').all() as Array<{ name: string, notnull: number, pk: number }>
  db.close()
  const byName = Object.fromEntries(columns.map((c) => [c.name, c]))
  for (const name of ['message_id', 'from_msisdn', 'to_msisdn', 'ts', 'text', 'created_at']) assert.ok(byName[name], name)
  assert.equal(byName.message_id!.pk, 1)
  for (const name of ['from_msisdn', 'to_msisdn', 'ts', 'created_at']) assert.equal(byName[name]!.notnull, 1, name)
})

import assert from 'node:assert/strict'
import { join } from 'node:path'
import { test } from 'node:test'
import Database from 'better-sqlite3'
import { buildApp } from '../../src/app.ts'
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

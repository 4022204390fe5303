import assert from 'node:assert/strict'
import { join } from 'node:path'
import { test } from 'node:test'
import Database from 'better-sqlite3'
import { buildApp } from '../../src/app.ts'
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.ts'
import { build, deliver, message, tempDir, testConfig } from '../helper.ts'
import { ENGINE, sqliteOnly, storedMessageIds, testDatabaseUrl } from '../helpers/engine.ts'
import { adminQuery } from '../helpers/postgres.ts'

test('messages survive a restart: a new app on the same database has them, and first write still wins', async (t) => {
  const url = await testDatabaseUrl(t, { durable: true })
  const first = await buildApp(testConfig({ DATABASE_URL: url }))
  assert.equal((await deliver(first, message({ message_id: 'kept' }))).statusCode, 200)
  await first.close()
  assert.deepEqual([...await storedMessageIds(url)], ['kept'])

  const { app } = await build(t, { DATABASE_URL: url })
  const page = (await app.inject('/messages')).json()
  assert.deepEqual(page.data.map((m: { message_id: string }) => m.message_id), ['kept'])
  assert.equal((await deliver(app, message({ message_id: 'kept', text: 'again' }))).statusCode, 200)
  assert.equal((await app.inject('/messages')).json().data[0].text, 'Hello')
  assert.equal((await app.inject('/health/ready')).statusCode, 200)
})

test('a file database is created with its parent folder, in WAL mode with synchronous=FULL and a recorded schema version',
  sqliteOnly('journal_mode and user_version are SQLite pragmas'), async (t) => {
    const file = join(tempDir(t), 'nested', 'app.db')
    const app = await buildApp(testConfig({ DATABASE_URL: `sqlite:///${file}` }))
    assert.equal((await deliver(app, message())).statusCode, 200)
    await app.close()
    const db = new Database(file, { readonly: true })
    assert.equal(db.pragma('journal_mode', { simple: true }), 'wal')
    assert.equal((db.prepare('SELECT count(*) AS n FROM messages').get() as { n: number }).n, 1)
    assert.ok((db.pragma('user_version', { simple: true }) as number) >= 1)
    db.close()
  })

interface Column { name: string, notNull: boolean, primaryKey: boolean }

async function messagesColumns (url: string): Promise<Column[]> {
  if (ENGINE === 'sqlite') {
    const db = new Database(url.slice(url.indexOf(':///') + 4), { readonly: true })
    const columns = db.prepare('PRAGMA table_info(messages)').all() as Array<{ name: string, notnull: number, pk: number }>
    db.close()
    return columns.map((c) => ({ name: c.name, notNull: c.notnull === 1, primaryKey: c.pk === 1 }))
  }
  return adminQuery<Column>(url, `
    SELECT c.column_name AS name, c.is_nullable = 'NO' AS "notNull",
           EXISTS (SELECT 1 FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY (i.indkey)
                   WHERE i.indrelid = 'messages'::regclass AND i.indisprimary AND a.attname = c.column_name) AS "primaryKey"
    FROM information_schema.columns c
    WHERE c.table_name = 'messages' AND c.table_schema = current_schema()`)
}

test('the store\'s own connection commits with synchronous=FULL: a commit returns only after the WAL is synced', sqliteOnly('synchronous is a SQLite pragma'), (t) => {
  // synchronous is a setting of each connection; another connection on the file would show its own default.
  const store = new SqliteStore({ filename: join(tempDir(t), 'app.db'), indexing: { auto: false } })
  t.after(() => store.close())
  assert.deepEqual(store.durability(), { journalMode: 'wal', synchronous: 2 }) // 2 = FULL, 1 = NORMAL
})

test('a delivery saved in the same turn as the close is committed by the close, not refused', sqliteOnly('the SQLite store itself'), async (t) => {
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
  const url = await testDatabaseUrl(t, { durable: true })
  const app = await buildApp(testConfig({ DATABASE_URL: url }))
  await app.ready()
  await app.close()
  const byName = Object.fromEntries((await messagesColumns(url)).map((c) => [c.name, c]))
  for (const name of ['message_id', 'from_msisdn', 'to_msisdn', 'ts', 'text', 'created_at']) assert.ok(byName[name], name)
  for (const name of ['from_msisdn', 'to_msisdn', 'ts', 'created_at']) assert.equal(byName[name]!.notNull, true, name)
  if (ENGINE === 'sqlite') {
    assert.equal(byName.message_id!.primaryKey, true)
  } else {
    // CONTRACT §9 names message_id the primary key. The PostgreSQL engine keeps it unique through a unique
    // index on its SHA-256 instead (a btree entry cannot hold ids of any length, which SQLite accepts):
    // what this checks is that the database itself refuses a second row with the same message_id.
    assert.equal(byName.message_id!.notNull, true)
    const { app } = await build(t, { DATABASE_URL: url })
    assert.equal((await deliver(app, message({ message_id: 'once' }))).statusCode, 200)
    await assert.rejects(adminQuery(url, "INSERT INTO messages SELECT * FROM messages WHERE message_id = 'once'"), { code: '23505' })
  }
})

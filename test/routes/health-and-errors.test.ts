import assert from 'node:assert/strict'
import { join } from 'node:path'
import { test } from 'node:test'
import Database from 'better-sqlite3'
import { build, tempDir } from '../helper.ts'

test('live is 200 and never touches the database', async (t) => {
  const { app } = await build(t)
  app.store.checks = async () => { throw new Error('must not be called') }
  const response = await app.inject('/health/live')
  assert.equal(response.statusCode, 200)
  assert.deepEqual(response.json(), { status: 'ok' })
})

test('ready is 200 on a working database and 503 naming the failed check otherwise', async (t) => {
  const { app } = await build(t)
  const ready = await app.inject('/health/ready')
  assert.equal(ready.statusCode, 200)
  assert.deepEqual(ready.json(), { status: 'ready' })
  await app.store.close()
  const closed = await app.inject('/health/ready')
  assert.equal(closed.statusCode, 503)
  assert.equal(closed.json().status, 'not_ready')
  assert.notEqual(closed.json().checks.database, 'ok')
  assert.equal(closed.json().checks.shutdown, 'ok')
})

test('ready is 503 naming the writable check while another connection holds the write lock, 200 once it lets go', async (t) => {
  const filename = join(tempDir(t), 'app.db')
  const { app } = await build(t, { DATABASE_URL: `sqlite:///${filename}` })
  assert.equal((await app.inject('/health/ready')).statusCode, 200)

  // Reads still work under another writer's lock; only a real write shows the database cannot commit.
  const other = new Database(filename)
  t.after(() => { if (other.inTransaction) other.exec('ROLLBACK'); other.close() })
  other.exec('BEGIN IMMEDIATE')
  const locked = await app.inject('/health/ready')
  assert.equal(locked.statusCode, 503)
  const { status, checks } = locked.json()
  assert.equal(status, 'not_ready')
  assert.equal(checks.database, 'ok')
  assert.equal(checks.migrations, 'ok')
  assert.notEqual(checks.writable, 'ok')
  assert.match(checks.writable, /lock|busy/i, 'names why the write failed')

  other.exec('ROLLBACK')
  assert.equal((await app.inject('/health/ready')).statusCode, 200)
})

test('unknown routes: 404 {"detail":"not found"}; known paths with other methods: 405 with Allow', async (t) => {
  const { app } = await build(t)
  const missing = await app.inject('/nope?x=1')
  assert.equal(missing.statusCode, 404)
  assert.deepEqual(missing.json(), { detail: 'not found' })
  const wrongMethod = await app.inject({ method: 'DELETE', url: '/messages' })
  assert.equal(wrongMethod.statusCode, 405)
  assert.match(String(wrongMethod.headers.allow), /GET/)
  assert.deepEqual(wrongMethod.json(), { detail: 'method not allowed' })
})

test('a 500 says only "internal error"; the log has the error and the request id', async (t) => {
  const { app, logs } = await build(t)
  app.store.stats = async () => { throw new Error('secret internals at /srv/db.ts:42') }
  const response = await app.inject({ url: '/stats', headers: { 'x-request-id': 'req-500' } })
  assert.equal(response.statusCode, 500)
  assert.deepEqual(response.json(), { detail: 'internal error' })
  assert.equal(response.headers['x-request-id'], 'req-500')
  assert.doesNotMatch(response.body, /secret internals|stack/)
  const logged = logs.find((line) => line.request_id === 'req-500' && line.level === 'error' && line.err !== undefined)
  assert.ok(logged, JSON.stringify(logs))
  assert.match(JSON.stringify(logged), /secret internals/)
})

test('a store that cannot answer gives 503 with Retry-After, not 500', async (t) => {
  const { app } = await build(t)
  await app.store.close()
  const response = await app.inject('/messages')
  assert.equal(response.statusCode, 503)
  assert.ok(Number(response.headers['retry-after']) >= 1)
  assert.equal(typeof response.json().detail, 'string')
})

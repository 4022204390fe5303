import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import { test } from 'node:test'
import { fileURLToPath } from 'node:url'
import { buildServer } from '../../scripts/build.ts'
import { sign } from '../../src/lib/signature.ts'
import { SECRET, message } from '../helper.ts'
import { ENGINE, testDatabaseUrl } from '../helpers/engine.ts'
import { startServer } from '../helpers/server-process.ts'
import { walCopied, walProgress } from '../helpers/wal.ts'

// Every other process test runs the source through tsx; this one runs what `npm start` and the image run:
// the esbuild bundle of scripts/build.ts. A bundle can break what the source does not: CommonJS interop
// (fastify-metrics' default export), packages that read files next to their own code, require() in ESM,
// and the entry files of the store's threads.

const ROOT = fileURLToPath(new URL('../..', import.meta.url))

test('the production bundle starts, serves every route family and shuts down cleanly', async (t) => {
  // Inside the repository, so the packages left outside the bundle resolve from its node_modules.
  const dir = mkdtempSync(join(ROOT, '.build-test-'))
  t.after(() => rmSync(dir, { recursive: true, force: true }))
  await buildServer(dir)

  const url = await testDatabaseUrl(t, { durable: true })
  const server = await startServer({ WEBHOOK_SECRET: SECRET, DATABASE_URL: url }, { args: [join(dir, 'server.js')] })
  t.after(() => server.kill())

  const get = (path: string) => fetch(server.url + path)
  // Ready once migrated: at once on SQLite (before listening), within moments on PostgreSQL (in the background).
  let ready = await get('/health/ready')
  for (let i = 0; i < 100 && ready.status !== 200; i++) {
    await new Promise((resolve) => setTimeout(resolve, 100))
    ready = await get('/health/ready')
  }
  assert.equal(ready.status, 200, await ready.text())

  const body = JSON.stringify(message({ message_id: 'bundle-1' }))
  const delivered = await fetch(`${server.url}/webhook`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-signature': sign(SECRET, body) },
    body
  })
  assert.equal(delivered.status, 200)
  assert.deepEqual(await delivered.json(), { status: 'ok' })
  if (ENGINE === 'sqlite') {
    // The checkpoint thread (dist/checkpoint-worker.js) copies the commit into the database file.
    const database = url.slice('sqlite:///'.length)
    assert.ok(await walCopied(database, 10_000), `WAL: ${JSON.stringify(walProgress(database))}`)
  }
  const unsigned = await fetch(`${server.url}/webhook`, { method: 'POST', headers: { 'content-type': 'application/json' }, body })
  assert.equal(unsigned.status, 401)

  const page = await (await get('/messages')).json() as { data: Array<{ message_id: string }>, total: number }
  assert.deepEqual(page.data.map((m) => m.message_id), ['bundle-1'])
  assert.equal((await (await get('/stats')).json() as { total_messages: number }).total_messages, 1)
  // A search the trigram index cannot answer runs on the scan thread (SQLite: dist/scan-worker.js).
  const scanned = await get(`/messages?q=${encodeURIComponent('\ufffd')}`)
  assert.equal(scanned.status, 200)
  assert.deepEqual(await scanned.json(), { data: [], total: 0, limit: 50, offset: 0 })

  const metrics = await get('/metrics')
  assert.equal(metrics.status, 200)
  const exposition = await metrics.text()
  assert.match(exposition, /^webhook_requests_total\{result="created"\} 1$/m)
  assert.match(exposition, /^process_cpu_seconds_total /m, 'prom-client default metrics')

  const docs = await get('/docs/json')
  assert.equal(docs.status, 200)
  assert.match((await docs.json() as { openapi: string }).openapi, /^3\./)
  // @fastify/swagger-ui stays outside the bundle and serves these from its own package directory.
  const ui = await get('/docs/static/index.html')
  assert.equal(ui.status, 200)
  assert.match(await ui.text(), /swagger-ui/i)
  const css = await get('/docs/static/swagger-ui.css')
  assert.equal(css.status, 200)
  assert.ok((await css.text()).length > 1000)

  server.child.kill('SIGTERM')
  assert.equal(await server.exited, 0, server.stdout.join('\n'))
  for (const line of server.stdout.filter((l) => l !== '')) assert.equal(typeof JSON.parse(line), 'object', line)
  assert.ok(server.stdout.some((line) => line.includes('"shutdown complete"')))
})

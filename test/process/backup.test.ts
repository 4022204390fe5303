import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { test } from 'node:test'
import { fileURLToPath } from 'node:url'
import type { Message } from '../../schemas/messages.ts'
import { sign } from '../../src/lib/signature.ts'
import { SECRET, tempDir } from '../helper.ts'
import { startServer } from '../helpers/server-process.ts'

const ROOT = fileURLToPath(new URL('../..', import.meta.url))

/** `npm run backup -- <file>` as the script it runs, with this environment. */
function runBackup (file: string, env: Record<string, string>): Promise<{ code: number | null, stdout: string, stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'scripts/backup.ts', file], { cwd: ROOT, env: { PATH: process.env.PATH ?? '', ...env } })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (chunk) => { stdout += chunk })
    child.stderr.on('data', (chunk) => { stderr += chunk })
    child.on('exit', (code) => resolve({ code, stdout, stderr }))
  })
}

async function post (url: string, message: Message): Promise<number> {
  const body = JSON.stringify(message)
  const response = await fetch(`${url}/webhook`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-signature': sign(SECRET, body) },
    body
  })
  await response.arrayBuffer()
  return response.status
}

const exportedIds = async (url: string) => (await (await fetch(`${url}/messages/export`)).text())
  .split('\n').filter((line) => line !== '').map((line) => (JSON.parse(line) as Message).message_id)

test('refuses an existing file, PostgreSQL (naming pg_dump) and an in-memory database, with a clear message', async (t) => {
  const dir = tempDir(t)
  const existing = join(dir, 'taken.db')
  writeFileSync(existing, 'keep me')
  const cases: Array<[string, Record<string, string>, RegExp]> = [
    [existing, { DATABASE_URL: `sqlite:///${join(dir, 'app.db')}` }, /exists/],
    [join(dir, 'a.db'), { DATABASE_URL: 'postgres://u:p@localhost:5432/db' }, /pg_dump/],
    [join(dir, 'b.db'), { DATABASE_URL: 'postgresql://localhost/db' }, /pg_dump/],
    [join(dir, 'c.db'), { DATABASE_URL: 'sqlite::memory:' }, /in-memory/],
    [join(dir, 'd.db'), { DATABASE_URL: `sqlite:///${join(dir, 'missing.db')}` }, /does not exist/]
  ]
  for (const [file, env, message] of cases) {
    const { code, stdout, stderr } = await runBackup(file, env)
    assert.notEqual(code, 0, JSON.stringify(env))
    assert.equal(stdout, '')
    assert.match(stderr, message)
  }
})

test('a backup taken under load holds every message acknowledged before it started, and the service runs on it', async (t) => {
  const dir = tempDir(t)
  const live = join(dir, 'live.db')
  const copy = join(dir, 'copy.db')
  const server = await startServer({ WEBHOOK_SECRET: SECRET, DATABASE_URL: `sqlite:///${live}`, LOG_LEVEL: 'warn' })
  t.after(() => server.kill())
  const acked: Array<{ id: string, at: number }> = []
  const refused: number[] = []
  const state = { stop: false }
  let next = 0
  // Deliveries in flight from 8 concurrent senders for the whole test.
  const senders = Array.from({ length: 8 }, async (_, s) => {
    while (!state.stop) {
      const id = `d${next++}`
      const status = await post(server.url, { message_id: id, from: `+4${s}`, to: '+1', ts: new Date().toISOString(), text: `load "${id}", ok\nÉ` })
      if (status === 200) acked.push({ id, at: performance.now() })
      else refused.push(status)
    }
  })
  while (acked.length < 3000) await new Promise((resolve) => setTimeout(resolve, 20))

  const started = performance.now()
  const result = await runBackup(copy, { DATABASE_URL: `sqlite:///${live}` })
  assert.equal(result.code, 0, result.stderr)
  const lines = result.stdout.trim().split('\n')
  assert.equal(lines.length, 1)
  const report = JSON.parse(lines[0]!)
  assert.equal(report.integrity, 'ok')
  assert.equal(report.file, copy)
  await new Promise((resolve) => setTimeout(resolve, 200)) // still delivering after the backup
  state.stop = true
  await Promise.all(senders)
  assert.deepEqual(refused, [], 'no delivery refused while the backup ran')
  const ackedBefore = acked.filter((a) => a.at < started).map((a) => a.id)
  assert.ok(acked.length > ackedBefore.length, 'deliveries were acknowledged while the backup ran')

  // The copy works as a DATABASE_URL, and holds everything acknowledged before the backup started.
  const restored = await startServer({ WEBHOOK_SECRET: SECRET, DATABASE_URL: `sqlite:///${copy}`, LOG_LEVEL: 'warn' })
  t.after(() => restored.kill())
  assert.equal((await fetch(`${restored.url}/health/ready`)).status, 200)
  const ids = new Set(await exportedIds(restored.url))
  assert.equal(ids.size, report.rows)
  for (const id of ackedBefore) assert.ok(ids.has(id), `${id} acknowledged before the backup is in the copy`)
  const stats = await (await fetch(`${restored.url}/stats`)).json() as { total_messages: number }
  assert.equal(stats.total_messages, report.rows)
  // And it takes new deliveries.
  assert.equal(await post(restored.url, { message_id: 'after-restore', from: '+1', to: '+2', ts: '2025-01-15T10:00:00Z', text: null }), 200)
})

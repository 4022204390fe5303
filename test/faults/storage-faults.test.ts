import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { closeSync, mkdirSync, mkdtempSync, openSync, rmSync, writeSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test, type TestContext } from 'node:test'
import Database from 'better-sqlite3'
import { SECRET } from '../helper.ts'
import { startServer, type ServerProcess } from '../helpers/server-process.ts'
import { skipOutsideCi } from '../helpers/skip.ts'
import { call, delivery, post, storedIds } from '../helpers/live-client.ts'

// Each fault is produced for real against the real server process, then cleared; the service must
// answer 503 + Retry-After meanwhile, stay alive, report not ready, and recover by itself.

const isRoot = process.getuid?.() === 0

interface Scene {
  dir: string
  file: string
  server: ServerProcess
  /** Every id that got a 200: each must be stored at the end. */
  acked: string[]
}

/**
 * A temp directory (optionally a fresh tmpfs of `tmpfsSize`) with the server on `<dir>/db/app.db`.
 * One cleanup hook, in the only safe order: stop the server, undo the fault, unmount, remove.
 */
async function scene (t: TestContext, options: { tmpfsSize?: string, undo?: () => void } = {}): Promise<Scene> {
  const dir = mkdtempSync(join(tmpdir(), 'hookvault-fault-'))
  const cleanup: Array<() => void> = []
  if (options.tmpfsSize !== undefined) {
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${options.tmpfsSize}`, 'tmpfs', dir])
    cleanup.push(() => execFileSync('umount', [dir]))
  }
  const file = join(dir, 'db', 'app.db')
  const state: { server?: ServerProcess } = {}
  t.after(async () => {
    await state.server?.kill()
    options.undo?.()
    for (const step of cleanup.reverse()) step()
    rmSync(dir, { recursive: true, force: true })
  })
  state.server = await startServer({ WEBHOOK_SECRET: SECRET, DATABASE_URL: `sqlite:///${file}` })
  const acked: string[] = []
  const s = { dir, file, server: state.server, acked }
  await deliverOk(s, 'before-fault')
  return s
}

async function deliverOk (s: Scene, id: string): Promise<void> {
  const response = await post(s.server.url, delivery(id))
  assert.equal(response.status, 200, JSON.stringify(response.body))
  s.acked.push(id)
}

/** 503 + Retry-After + {"detail"} for a webhook, readiness 503, and the process still alive. */
async function assertUnavailable (s: Scene, id: string, detail: RegExp): Promise<void> {
  const response = await post(s.server.url, delivery(id))
  assert.equal(response.status, 503, JSON.stringify(response.body))
  assert.match(response.headers.get('retry-after') ?? '', /^[1-9]\d*$/)
  assert.match(response.body.detail, detail)
  const ready = await call(`${s.server.url}/health/ready`)
  assert.equal(ready.status, 503)
  assert.equal(ready.body.status, 'not_ready')
  assert.equal((await call(`${s.server.url}/health/live`)).status, 200)
  assert.equal(s.server.child.exitCode, null, 'the process must not crash')
}

/** Once the fault is cleared the service heals by itself: a bounded wait for 200, then readiness. */
async function assertRecovers (s: Scene, id: string): Promise<void> {
  let status = 0
  for (let attempt = 0; attempt < 50 && status !== 200; attempt++) {
    if (attempt > 0) await new Promise((resolve) => setTimeout(resolve, 100))
    status = (await post(s.server.url, delivery(id))).status
  }
  assert.equal(status, 200, 'no recovery after the fault cleared')
  s.acked.push(id)
  assert.equal((await call(`${s.server.url}/health/ready`)).status, 200)
  const stored = await storedIds(s.server.url)
  for (const acked of s.acked) assert.ok(stored.includes(acked), `acknowledged ${acked} is not stored`)
  assert.equal(new Set(stored).size, stored.length)
  assert.equal((await call(`${s.server.url}/stats`)).body.total_messages, stored.length)
}

test('database locked by another writer: 503 busy, then recovery once the lock is released', async (t) => {
  const s = await scene(t)
  // It waits for the lock like any writer: the server's indexer may hold it for a moment after a commit.
  const other = new Database(s.file, { timeout: 5000 })
  t.after(() => { if (other.open) other.close() })
  other.exec('BEGIN IMMEDIATE')
  await assertUnavailable(s, 'during-lock', /busy/)
  other.exec('ROLLBACK')
  other.close()
  await assertRecovers(s, 'during-lock')
})

test('disk full (a small tmpfs filled up): 503 storage full, then recovery once space is freed', async (t) => {
  if (!isRoot) {
    return skipOutsideCi(t, 'producing a full disk needs root (mount -t tmpfs)')
  }
  const s = await scene(t, { tmpfsSize: '1m' })
  // Fill every free byte; the bounded loop ends at ENOSPC (a 1 MiB tmpfs holds at most 16 such chunks).
  const filler = join(s.dir, 'filler')
  const fd = openSync(filler, 'w')
  const chunk = Buffer.alloc(64 * 1024, 1)
  try {
    for (let i = 0; i < 64; i++) writeSync(fd, chunk)
    assert.fail('the tmpfs never filled up')
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOSPC') throw error
  } finally {
    closeSync(fd)
  }
  // Pages the WAL already holds can still take a row or two, which is fine: those are really stored.
  let response = await post(s.server.url, delivery('full-0', 'x'.repeat(4000)))
  for (let i = 1; i < 100 && response.status === 200; i++) {
    s.acked.push(`full-${i - 1}`)
    response = await post(s.server.url, delivery(`full-${i}`, 'x'.repeat(4000)))
  }
  assert.equal(response.status, 503, 'a full disk never produced a 503')
  await assertUnavailable(s, 'while-full', /storage full|I\/O/)
  rmSync(filler)
  await assertRecovers(s, 'while-full')
})

test('database file made read-only (chattr +i): 503, then recovery once it is writable again', async (t) => {
  if (!isRoot) {
    return skipOutsideCi(t, 'chattr +i needs root (CAP_LINUX_IMMUTABLE); root also ignores chmod')
  }
  // The database and its WAL, not the -shm: SQLite writes that through mmap, and an immutable mapped
  // file raises SIGBUS, which no process can answer with a 503.
  const files: string[] = []
  const chattr = (flag: string) => execFileSync('chattr', [flag, ...files])
  const s = await scene(t, { undo: () => { if (files.length > 0) chattr('-i') } })
  const probe = join(s.dir, 'probe')
  mkdirSync(probe)
  try {
    execFileSync('chattr', ['+i', probe])
    execFileSync('chattr', ['-i', probe])
  } catch {
    return skipOutsideCi(t, `the file system under ${s.dir} does not support chattr +i`)
  }
  files.push(s.file, `${s.file}-wal`)
  chattr('+i')
  await assertUnavailable(s, 'while-read-only', /I\/O|read-only/)
  chattr('-i')
  files.length = 0
  await assertRecovers(s, 'while-read-only')
})

test('database directory removed: 503, data the connection still held is restored when the directory is back', async (t) => {
  const s = await scene(t)
  await deliverOk(s, 'second-before-fault')
  rmSync(join(s.dir, 'db'), { recursive: true })
  await assertUnavailable(s, 'while-removed', /directory missing/)
  mkdirSync(join(s.dir, 'db'))
  await assertRecovers(s, 'while-removed')
})

import assert from 'node:assert/strict'
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { test } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'
import Database from 'better-sqlite3'
import { Checkpointer } from '../../src/store/sqlite/checkpointer.ts'
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.ts'
import { tempDir } from '../helper.ts'
import { until, walCopied, walProgress } from '../helpers/wal.ts'

// Checkpoints run on their own thread and connection (src/store/sqlite/checkpointer.ts), so no commit
// on the event loop copies the WAL into the database file. Whether a row survives a crash is the
// chaos test's business (test/chaos/crash.test.ts runs the real server, thread included).

async function saveSome (store: SqliteStore, prefix: string): Promise<void> {
  for (let batch = 0; batch < 5; batch++) {
    await Promise.all(Array.from({ length: 40 }, (_, i) => store.save({
      message_id: `${prefix}-${batch}-${i}`, from: '+1', to: '+2', ts: '2025-01-15T10:00:00Z', text: `message ${batch} ${i}`
    })))
  }
}

test('the checkpoint thread copies committed frames into the database file; without it, they stay in the WAL', async (t) => {
  const open = (checkpointIntervalMs: number) => {
    const filename = join(tempDir(t), 'app.db')
    const store = new SqliteStore({ filename, indexing: { auto: false }, tuning: { checkpointIntervalMs } })
    t.after(() => store.close())
    return { filename, store }
  }
  const threaded = open(20)
  const unthreaded = open(0)
  await Promise.all([saveSome(threaded.store, 'ckpt'), saveSome(unthreaded.store, 'ckpt')])
  // Well under the 1000 pages after which a commit checkpoints by itself: only a thread copies these.
  for (const { filename } of [threaded, unthreaded]) {
    const written = walProgress(filename).frames
    assert.ok(written > 0 && written < 1000, `frames: ${written}`)
  }
  // The same time for both: as long as the thread needs, however slow the machine.
  assert.ok(await walCopied(threaded.filename, 30_000), `with the thread: ${JSON.stringify(walProgress(threaded.filename))}`)
  const left = walProgress(unthreaded.filename)
  assert.ok(left.copied < left.frames, `without the thread, nothing copied the WAL: ${JSON.stringify(left)}`)
})

test('the thread reports when it runs and when it could not start', async (t) => {
  const filename = join(tempDir(t), 'app.db')
  await new SqliteStore({ filename }).close() // creates the file
  for (const [file, expected] of [[filename, true], [join(tempDir(t), 'missing.db'), false]] as const) {
    const reports: boolean[] = []
    const checkpointer = new Checkpointer({ filename: file, intervalMs: 20 }, (running) => reports.push(running))
    t.after(() => checkpointer.close())
    checkpointer.start()
    checkpointer.start() // once only
    assert.ok(await until(() => reports.length > 0, 5000), `no report for ${file}`)
    await sleep(50)
    assert.deepEqual(reports, [expected])
    await checkpointer.close()
    await sleep(50)
    assert.deepEqual(reports, [expected], 'nothing reported after close')
  }
})

test('closing the store stops the thread first, so the store\'s own close empties and removes the WAL', async (t) => {
  const filename = join(tempDir(t), 'app.db')
  const store = new SqliteStore({ filename, indexing: { auto: false }, tuning: { checkpointIntervalMs: 20 } })
  await saveSome(store, 'close')
  assert.ok(await walCopied(filename, 5000), 'the thread ran')
  await store.close()
  // A connection removes the WAL at close only when it is the last one on the file.
  assert.equal(existsSync(`${filename}-wal`), false)
  const db = new Database(filename, { readonly: true })
  t.after(() => db.close())
  assert.equal(db.prepare('SELECT count(*) FROM messages').pluck().get(), 200)
})

test('the readiness probe\'s write starts the thread, before any delivery', async (t) => {
  const filename = join(tempDir(t), 'app.db')
  const store = new SqliteStore({ filename, indexing: { auto: false }, tuning: { checkpointIntervalMs: 20 } })
  t.after(() => store.close())
  assert.deepEqual(await store.checks(), { database: 'ok', migrations: 'ok', writable: 'ok' })
  assert.ok(await walCopied(filename, 5000), JSON.stringify(walProgress(filename)))
})

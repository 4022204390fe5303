import assert from 'node:assert/strict'
import { existsSync, readdirSync, readFileSync, renameSync } from 'node:fs'
import { join } from 'node:path'
import { test, type TestContext } from 'node:test'
import Database from 'better-sqlite3'
import { StoreUnavailableError } from '../../src/store/errors.ts'
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.ts'
import { tempDir } from '../helper.ts'

// Scans (searches that must fold and test every row) run on their own thread and connection
// (src/store/sqlite/scanner.ts); their results are checked against the plain definition in
// read-model.test.ts. Here: that they leave the event loop free, and how they end when the store closes.

const ROWS = 200_000

/** A database file with ROWS rows loaded straight in SQL (seconds faster than saving them one by one). */
async function bigStore (t: TestContext): Promise<SqliteStore> {
  const filename = join(tempDir(t), 'app.db')
  await new SqliteStore({ filename }).close() // creates the schema
  const db = new Database(filename)
  db.exec(`WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ${ROWS})
    INSERT INTO messages (message_id, from_msisdn, to_msisdn, ts, text, created_at, ts_key)
    SELECT 'bulk-' || i, '+1', '+2', strftime('%Y-%m-%dT%H:%M:%SZ', 1735689600 + i, 'unixepoch'), 'Order number ' || i,
      '2025-01-01T00:00:00Z', strftime('%Y-%m-%dT%H:%M:%S', 1735689600 + i, 'unixepoch') || '.000000000Z' FROM n`)
  db.close()
  const store = new SqliteStore({ filename, indexing: { auto: false } })
  t.after(() => store.close())
  return store
}

// U+FFFD is a query the trigram index cannot answer exactly (search-text.ts), so page and total scan.
const SCAN = { limit: 50, offset: 0, q: '\ufffd' }

test('a scan leaves the event loop free: a delivery commits while scans of 200,000 rows run', async (t) => {
  const store = await bigStore(t)
  const finished: string[] = []
  const scans = [1, 2, 3].map(() => store.list(SCAN).then((listing) => { finished.push('scan'); return listing }))
  const saved = store.save({ message_id: 'during-scan', from: '+3', to: '+2', ts: '2025-01-15T10:00:00Z', text: 'hello' }).then((outcome) => { finished.push('save'); return outcome })
  assert.equal(await saved, 'created')
  for (const listing of await Promise.all(scans)) assert.deepEqual({ data: listing.data, total: listing.total }, { data: [], total: 0 })
  // On the event loop (before scanner.ts), each list() held the loop for its whole scan, so the save
  // could only commit after all three. The thread runs them one after another, so the save has at
  // least two whole scans' time to commit before the last one ends, however loaded the machine.
  assert.notEqual(finished.at(-1), 'save', finished.join(' '))
  if (existsSync('/proc/self/task')) {
    // The scan thread runs at the lowest priority (nice 19), so deliveries get the CPU first; this
    // process's other threads keep theirs. Field 19 of /proc/<tid>/stat is the nice value.
    const niceOf = (tid: string) => Number(readFileSync(`/proc/self/task/${tid}/stat`, 'utf8').split(') ')[1]!.split(' ')[16])
    const nice = readdirSync('/proc/self/task').map(niceOf)
    assert.ok(nice.includes(19), `threads' nice values: ${nice.join(' ')}`)
    assert.equal(niceOf(String(process.pid)), 0, 'the main thread keeps its priority')
  }

  const found = await store.list({ ...SCAN, q: 'ORDER NUMBER 19999', since: '2025-01-01T00:00:00Z' })
  assert.deepEqual(found.data.map((m) => m.message_id), ['bulk-19999', ...Array.from({ length: 10 }, (_, i) => `bulk-19999${i}`)])
  assert.equal(found.total, 11)
})

test('closing the store during a scan fails that read with a 503 error, close completes, and later scans are refused', async (t) => {
  const store = await bigStore(t)
  const scan = store.list(SCAN)
  scan.catch(() => {}) // rejected once the store closes; asserted below
  await store.close()
  await assert.rejects(scan, StoreUnavailableError)
  // After close, a scan is refused at once; no new thread starts.
  await assert.rejects(store.list(SCAN), StoreUnavailableError)
})

test('a scan thread that cannot open the file fails its scans with a 503 error; the next scan starts a fresh one', async (t) => {
  const filename = join(tempDir(t), 'app.db')
  const store = new SqliteStore({ filename, indexing: { auto: false } })
  t.after(() => store.close())
  await store.save({ message_id: 'm1', from: '+1', to: '+2', ts: '2025-01-15T10:00:00Z', text: 'x\ufffdy' })
  // The thread opens the file by name at its first scan; the store's own connection keeps the moved file.
  renameSync(filename, `${filename}.moved`)
  await assert.rejects(store.list(SCAN), StoreUnavailableError)
  renameSync(`${filename}.moved`, filename)
  const listing = await store.list(SCAN)
  assert.deepEqual(listing.data.map((m) => m.message_id), ['m1'])
  assert.equal(listing.total, 1)
})

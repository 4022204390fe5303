/**
 * Seeds a database with synthetic deliveries through the storage layer (SqliteStore: the same
 * migrations, group commit and indexer as the service), then indexes the whole backlog.
 *
 *   node --import tsx bench/seed.ts --rows 1000000 --db ./data/seed.db
 *
 * Rows are submitted 10,000 per event-loop turn, so each group commit is one large transaction.
 * Deterministic: the same --rows and --seed give the same rows. Prints one JSON line when done.
 */
import { parseArgs } from 'node:util'
import { delivery, SEED_START_MS, SEED_STEP_MS } from './data.ts'
import { SqliteStore } from '../src/store/sqlite/sqlite-store.ts'
import { random } from '../scripts/random.ts'

const { values } = parseArgs({
  options: {
    rows: { type: 'string', default: '1000000' },
    db: { type: 'string', default: './data/seed.db' },
    seed: { type: 'string', default: '1' }
  }
})
const rows = Number(values.rows)
if (!Number.isInteger(rows) || rows < 0) throw new Error('--rows must be a whole number')

const started = performance.now()
const store = new SqliteStore({ filename: values.db, indexing: { auto: false } })
const rnd = random(Number(values.seed))
const BATCH = 10_000
let created = 0
for (let i = 0; i < rows; i += BATCH) {
  const saves = []
  for (let j = i; j < Math.min(rows, i + BATCH); j++) saves.push(store.save(delivery(rnd, 'seed-', j, SEED_START_MS, SEED_STEP_MS)))
  for (const outcome of await Promise.all(saves)) if (outcome === 'created') created++
}
const stored = performance.now()
store.catchUp()
await store.close()
const done = performance.now()
process.stdout.write(JSON.stringify({
  db: values.db,
  rows,
  created,
  store_seconds: +((stored - started) / 1000).toFixed(1),
  index_seconds: +((done - stored) / 1000).toFixed(1)
}) + '\n')

/**
 * Seeds a PostgreSQL database with the same synthetic deliveries as bench/seed.ts (same generator,
 * seed and order, so the same rows), through the engine itself (PostgresStore.saveAll: the migrations,
 * the batch statement and its aggregates), then VACUUM ANALYZE so reads start with fresh statistics
 * and an all-visible map (index-only counts).
 *
 *   node --import tsx bench/seed-postgres.ts --rows 1000000 --url postgres://…/db
 *
 * Prints one JSON line when done.
 */
import { parseArgs } from 'node:util'
import pg from 'pg'
import { random } from '../scripts/random.ts'
import { PostgresStore } from '../src/store/postgres/postgres-store.ts'
import { delivery, SEED_START_MS, SEED_STEP_MS } from './data.ts'

const { values } = parseArgs({
  options: {
    rows: { type: 'string', default: '1000000' },
    url: { type: 'string' },
    seed: { type: 'string', default: '1' }
  }
})
if (values.url === undefined) throw new Error('--url is required')
const rows = Number(values.rows)
const started = performance.now()
const store = new PostgresStore({ url: values.url, poolMax: 2, queryTimeoutMs: 600_000 })
const rnd = random(Number(values.seed))
const BATCH = 5000
let created = 0
for (let i = 0; i < rows; i += BATCH) {
  const batch = []
  for (let j = i; j < Math.min(rows, i + BATCH); j++) batch.push(delivery(rnd, 'seed-', j, SEED_START_MS, SEED_STEP_MS))
  for (const outcome of await store.saveAll(batch)) if (outcome === 'created') created++
}
await store.close()
const stored = performance.now()
const client = new pg.Client({ connectionString: values.url })
await client.connect()
await client.query('VACUUM ANALYZE')
await client.end()
process.stdout.write(JSON.stringify({
  rows,
  created,
  store_seconds: +((stored - started) / 1000).toFixed(1),
  vacuum_seconds: +((performance.now() - stored) / 1000).toFixed(1)
}) + '\n')

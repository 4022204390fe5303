/**
 * The acknowledgement path's storage cost alone, without HTTP: `SqliteStore.save` in group-committed
 * batches on a copy of the seeded file, with the service's settings (WAL, synchronous=FULL) and the
 * indexer off. Wall time minus CPU time per batch is, near enough, the time the event loop sits
 * blocked in the commit's fsync.
 *
 *   node --import tsx bench/store.ts [--rows 1000000] [--batch 33] [--batches 3000]
 *
 * Needs bench-results/seed-<rows>.db (npm run bench creates it, or npm run seed). Prints one JSON line.
 */
import { copyFileSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { random } from '../scripts/random.ts'
import { SqliteStore } from '../src/store/sqlite/sqlite-store.ts'
import { delivery } from './data.ts'

const { values } = parseArgs({
  options: {
    rows: { type: 'string', default: '1000000' },
    batch: { type: 'string', default: '33' },
    batches: { type: 'string', default: '3000' }
  }
})
const [batch, batches] = [Number(values.batch), Number(values.batches)]
const dir = new URL('../bench-results/', import.meta.url).pathname
const file = join(dir, 'store-bench.db')
const removeCopy = () => { for (const suffix of ['', '-wal', '-shm']) rmSync(file + suffix, { force: true }) }
removeCopy()
copyFileSync(join(dir, `seed-${values.rows}.db`), file)

const store = new SqliteStore({ filename: file, indexing: { auto: false } })
const rnd = random(3)
let n = 0
const oneBatch = () => Promise.all(Array.from({ length: batch }, () => store.save(delivery(rnd, 'store-bench-', n++, Date.now(), 1))))

for (let i = 0; i < 100; i++) await oneBatch() // warm-up: JIT, page cache
const started = performance.now()
const cpuBefore = process.cpuUsage()
for (let i = 0; i < batches; i++) await oneBatch()
const wallMs = (performance.now() - started) / batches
const cpu = process.cpuUsage(cpuBefore)
const cpuMs = (cpu.user + cpu.system) / 1000 / batches
await store.close()
removeCopy()

process.stdout.write(JSON.stringify({
  rows: Number(values.rows),
  batch,
  batches,
  wall_ms_per_batch: +wallMs.toFixed(3),
  cpu_ms_per_batch: +cpuMs.toFixed(3),
  blocked_ms_per_batch: +(wallMs - cpuMs).toFixed(3),
  wall_us_per_row: +(wallMs * 1000 / batch).toFixed(1),
  cpu_us_per_row: +(cpuMs * 1000 / batch).toFixed(1)
}) + '\n')

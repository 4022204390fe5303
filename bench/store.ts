/**
 * The acknowledgement path's storage cost alone, without HTTP: `SqliteStore.save` in group-committed
 * batches on a copy of the seeded file, with the service's settings (WAL, synchronous=FULL) and the
 * indexer off. Wall time minus CPU time per batch is, near enough, the time the event loop sits
 * blocked in the commit's fsync.
 *
 * `--slices N` then times N indexer slices of the service's size (sliceRows, 400: one transaction each,
 * as it runs them when the backlog passes maxTail) over the rows the batches left unindexed. `--checkpoint-thread off`
 * runs both parts without the checkpoint thread (src/store/sqlite/checkpointer.ts), as before it existed:
 * SQLite then checkpoints inside the commits. `--ids random` gives each delivery a random UUID instead of
 * the load generator's counter (`<prefix><n>`, whose inserts land side by side in the primary-key index):
 * what providers with random ids cost.
 *
 *   node --import tsx bench/store.ts [--rows 1000000] [--batch 33] [--batches 3000] [--slices 60] [--checkpoint-thread on|off] [--ids sequential|random]
 *
 * Needs bench-results/seed-<rows>.db (npm run bench creates it, or npm run seed). Prints one JSON line.
 */
import { randomUUID } from 'node:crypto'
import { copyFileSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { random } from '../scripts/random.ts'
import { INDEXING_DEFAULTS } from '../src/store/sqlite/index-scheduler.ts'
import { SqliteStore } from '../src/store/sqlite/sqlite-store.ts'
import { delivery } from './data.ts'
import { percentile } from './percentile.ts'

const { values } = parseArgs({
  options: {
    rows: { type: 'string', default: '1000000' },
    batch: { type: 'string', default: '33' },
    batches: { type: 'string', default: '3000' },
    slices: { type: 'string', default: '0' },
    'checkpoint-thread': { type: 'string', default: 'on' },
    ids: { type: 'string', default: 'sequential' }
  }
})
const SLICE_ROWS = INDEXING_DEFAULTS.sliceRows
const [batch, batches] = [Number(values.batch), Number(values.batches)]
const dir = new URL('../bench-results/', import.meta.url).pathname
const file = join(dir, 'store-bench.db')
const removeCopy = () => { for (const suffix of ['', '-wal', '-shm']) rmSync(file + suffix, { force: true }) }
removeCopy()
copyFileSync(join(dir, `seed-${values.rows}.db`), file)

const checkpointThread = values['checkpoint-thread'] !== 'off'
const store = new SqliteStore({ filename: file, indexing: { auto: false }, tuning: checkpointThread ? {} : { checkpointIntervalMs: 0 } })
const rnd = random(3)
let n = 0
const randomIds = values.ids === 'random'
const next = () => {
  const message = delivery(rnd, 'store-bench-', n++, Date.now(), 1)
  return randomIds ? { ...message, message_id: randomUUID() } : message
}
const oneBatch = () => Promise.all(Array.from({ length: batch }, () => store.save(next())))

for (let i = 0; i < 100; i++) await oneBatch() // warm-up: JIT, page cache
const started = performance.now()
const cpuBefore = process.cpuUsage()
for (let i = 0; i < batches; i++) await oneBatch()
const wallMs = (performance.now() - started) / batches
const cpu = process.cpuUsage(cpuBefore)
const cpuMs = (cpu.user + cpu.system) / 1000 / batches

const sliceMs: number[] = []
for (let i = 0; i < Number(values.slices); i++) {
  const sliceStarted = performance.now()
  store.catchUp(SLICE_ROWS)
  sliceMs.push(performance.now() - sliceStarted)
}
sliceMs.sort((a, b) => a - b)
const sliceP = (p: number) => +percentile(sliceMs, p).toFixed(1)
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
  cpu_us_per_row: +(cpuMs * 1000 / batch).toFixed(1),
  checkpoint_thread: checkpointThread,
  ids: randomIds ? 'random' : 'sequential',
  ...(sliceMs.length > 0 ? { slices: sliceMs.length, slice_rows: SLICE_ROWS, slice_ms_p50: sliceP(0.5), slice_ms_p90: sliceP(0.9), slice_ms_max: sliceP(1) } : {})
}) + '\n')

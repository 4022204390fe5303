import { setTimeout as sleep } from 'node:timers/promises'
import fp from 'fastify-plugin'
import promClient from 'prom-client'
import { instantKey } from '../../lib/timestamp.ts'

export interface RetentionOptions {
  /** Messages whose ts instant is older than now minus this many days are deleted; null keeps them forever. */
  days: number | null
  sweepIntervalMs: number
}

/**
 * Rows per delete transaction: each is one synchronous block of the event loop, after which deliveries
 * get a turn before the next. What a row costs varies tenfold (cold pages of old rows, FTS doclists, a
 * busy disk), so the size adapts to keep each block near SWEEP_TARGET_MS, within these bounds.
 * Measured with `npm run bench -- --lifecycle` (docs/lifecycle.md).
 */
export const SWEEP_BATCH = { first: 100, min: 10, max: 2000 } as const
const SWEEP_TARGET_MS = 10

const DAY_MS = 86_400_000

/** The instant key below which messages are past retention, at `nowMs`. */
export function retentionCutoff (nowMs: number, days: number): string {
  return instantKey(new Date(nowMs - days * DAY_MS).toISOString())!
}

/**
 * The retention sweep: once the app is ready and then every interval after the previous
 * sweep ended, deletes what is past retention in small batches, off the acknowledgement path, each
 * followed by a pause as long as it took. The store
 * keeps every read exact after each batch. A sweep that meets a store in trouble (full, busy) stops and
 * tries again at the next interval; closing the app stops it between two batches and waits for that.
 * The counter exists at 0 from the first scrape whether or not retention is on.
 */
export default fp<RetentionOptions>(async (fastify, options) => {
  const deletedTotal = new promClient.Counter({
    name: 'messages_deleted_total',
    help: 'Messages deleted, by reason (retention: past RETENTION_DAYS).',
    labelNames: ['reason'] as const,
    registers: [fastify.metricsRegistry]
  })
  deletedTotal.inc({ reason: 'retention' }, 0)
  const { days, sweepIntervalMs } = options
  if (days === null) return

  let stopped = false
  let timer: NodeJS.Timeout | null = null
  let running: Promise<void> | null = null

  async function sweep (): Promise<void> {
    const before = retentionCutoff(Date.now(), days!)
    let deleted = 0
    let batch: number = SWEEP_BATCH.first
    try {
      for (;;) {
        if (stopped) break // closing: the store stays open until this batch returned
        const started = performance.now()
        const n = await fastify.store.deleteOlderThan(before, batch)
        const elapsed = performance.now() - started
        deleted += n
        deletedTotal.inc({ reason: 'retention' }, n)
        if (n < batch) break
        if (elapsed > SWEEP_TARGET_MS * 2) batch = Math.max(SWEEP_BATCH.min, Math.floor(batch / 2))
        else if (elapsed < SWEEP_TARGET_MS / 2) batch = Math.min(SWEEP_BATCH.max, batch * 2)
        // As long a pause as the batch took: deliveries that arrived meanwhile are committed first, and
        // the sweep never takes more than about half of the event loop however slow its rows are.
        await sleep(Math.max(1, elapsed))
      }
    } catch (error) {
      fastify.log.warn({ err: error, deleted, before }, 'retention sweep stopped; next try at the interval')
      return
    }
    fastify.log.info({ deleted, before }, 'retention sweep')
  }

  function schedule (delayMs: number): void {
    timer = setTimeout(() => {
      timer = null
      running = sweep().finally(() => {
        running = null
        if (!stopped) schedule(sweepIntervalMs)
      })
    }, delayMs)
    timer.unref() // the sweep never keeps the process alive
  }

  fastify.addHook('onReady', async () => { schedule(0) })
  // preClose runs before the store's onClose: the store is still open while the last batch finishes.
  fastify.addHook('preClose', async () => {
    stopped = true
    if (timer !== null) clearTimeout(timer)
    await running
  })
}, { name: 'retention', dependencies: ['store', 'metrics'] })

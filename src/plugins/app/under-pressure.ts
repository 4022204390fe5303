import { getHeapStatistics } from 'node:v8'
import fp from 'fastify-plugin'
import underPressure from '@fastify/under-pressure'

const SAMPLE_INTERVAL_MS = 1000

/** Routes that answer under pressure too: probes and scrapes must see an overloaded process as it is. */
const ALWAYS_ANSWERED = new Set(['/health/live', '/health/ready', '/metrics'])

export interface PressureOptions {
  /** Mean event-loop delay over one sample, in ms, above which requests get 503. */
  maxEventLoopDelayMs: number
}

/**
 * Load shedding: when the event loop lags or the heap is nearly exhausted, answer 503 with Retry-After
 * at once rather than let every caller time out. The event-loop threshold is a mean over a second, far
 * above what the webhook's group commit costs (one fsync per batch blocks the loop for milliseconds),
 * so it trips only when the process is really saturated. https://github.com/fastify/under-pressure
 */
export default fp<PressureOptions>(async (fastify, options) => {
  // The first samples after start measure the start itself (plugins loading, migrations, the first JIT
  // work), not load: shedding waits until two full samples were taken with the app ready.
  let settled = false
  fastify.addHook('onReady', async () => {
    setTimeout(() => { settled = true }, 2 * SAMPLE_INTERVAL_MS).unref()
  })
  await fastify.register(underPressure, {
    maxEventLoopDelay: options.maxEventLoopDelayMs,
    // 90% of the heap V8 may use: past that, garbage collection stalls everything anyway.
    maxHeapUsedBytes: Math.floor(getHeapStatistics().heap_size_limit * 0.9),
    sampleInterval: SAMPLE_INTERVAL_MS,
    // under-pressure calls next() after this; Fastify stops there when the reply was already sent.
    pressureHandler: (request, reply, type) => {
      if (!settled || ALWAYS_ANSWERED.has(request.routeOptions.url ?? '')) return
      request.log.warn({ pressure: type }, 'shedding load')
      reply.code(503).header('retry-after', '5').send({ detail: 'server overloaded' })
    }
  })
}, { name: 'under-pressure' })

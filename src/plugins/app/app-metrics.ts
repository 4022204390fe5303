import fp from 'fastify-plugin'
import promClient from 'prom-client'
import { CounterTally } from '../../lib/counter-tally.ts'

/** Label for requests that matched no route: one series for all of them, whatever the URL. */
export const UNMATCHED_PATH = 'unmatched'

export const LATENCY_BUCKETS_MS = [1, 2.5, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000]

export interface AppMetricsOptions {
  /** Log lines the destination could not write so far (stdout closed): log_lines_dropped_total. */
  droppedLogLines: () => number
}

/**
 * Our request metrics, in fastify-metrics' registry, with the contract's names and labels. The
 * ingest routes' own metrics live with their outcome, in plugins/app/ingest-outcome.ts.
 */
export default fp<AppMetricsOptions>(async (fastify, options) => {
  const registers = [fastify.metricsRegistry]
  // Counted per request in a tally, added to the counter at each scrape (lib/counter-tally.ts).
  const requestTally = new CounterTally<'method' | 'path' | 'status'>()
  fastify.metricsRegistry.registerMetric(new promClient.Counter({
    name: 'http_requests_total',
    help: 'HTTP requests by method, route template and status.',
    labelNames: ['method', 'path', 'status'] as const,
    registers: [],
    collect () { requestTally.flush(this) }
  }))
  const latency = new promClient.Histogram({
    name: 'request_latency_ms',
    help: 'Time from request arrival to response sent, in milliseconds.',
    labelNames: ['method', 'path'] as const,
    buckets: LATENCY_BUCKETS_MS,
    registers
  })
  // Read at each scrape: the log destination counts, and it exists before this registry does.
  let droppedReported = 0
  fastify.metricsRegistry.registerMetric(new promClient.Counter({
    name: 'log_lines_dropped_total',
    help: 'Log lines that could not be written to stdout (its reader had gone) and were dropped.',
    registers: [],
    collect () {
      const dropped = options.droppedLogLines()
      this.inc(dropped - droppedReported)
      droppedReported = dropped
    }
  }))

  // A callback hook, not an async one: no promise per request on the hot path.
  fastify.addHook('onResponse', (request, reply, done) => {
    // The route template, never the raw URL: unknown URLs (404, and 405 from the not-found handler)
    // all share one series.
    const path = request.is404 ? UNMATCHED_PATH : request.routeOptions.url ?? UNMATCHED_PATH
    const method = request.method
    const status = reply.statusCode
    // Methods and statuses have no spaces, route templates no newlines: the key is one to one.
    requestTally.increment(`${method} ${status} ${path}`, { method, path, status })
    latency.observe({ method, path }, reply.elapsedTime)
    done()
  })
}, { name: 'app-metrics', dependencies: ['metrics'] })

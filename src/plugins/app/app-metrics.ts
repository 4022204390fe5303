import fp from 'fastify-plugin'
import promClient from 'prom-client'

/** Every `result` label of webhook_requests_total. */
export type WebhookResult =
  'created' | 'duplicate' | 'invalid_signature' | 'validation_error' |
  'payload_too_large' | 'unsupported_media_type' | 'unavailable' | 'rejected' | 'error'

/** The results that exist at 0 from the first scrape, so rate() and alerts work before any traffic. */
const INITIAL_WEBHOOK_RESULTS: WebhookResult[] = ['created', 'duplicate', 'invalid_signature', 'validation_error']

/** Label for requests that matched no route: one series for all of them, whatever the URL. */
export const UNMATCHED_PATH = 'unmatched'

export const LATENCY_BUCKETS_MS = [1, 2.5, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000]

declare module 'fastify' {
  interface FastifyInstance {
    appMetrics: {
      webhookRequests: promClient.Counter<'result'>
    }
  }
}

export interface AppMetricsOptions {
  /** Log lines the destination could not write so far (stdout closed): log_lines_dropped_total. */
  droppedLogLines: () => number
}

/** Our request metrics, in fastify-metrics' registry, with the contract's names and labels. */
export default fp<AppMetricsOptions>(async (fastify, options) => {
  const registers = [fastify.metricsRegistry]
  const httpRequests = new promClient.Counter({
    name: 'http_requests_total',
    help: 'HTTP requests by method, route template and status.',
    labelNames: ['method', 'path', 'status'] as const,
    registers
  })
  const latency = new promClient.Histogram({
    name: 'request_latency_ms',
    help: 'Time from request arrival to response sent, in milliseconds.',
    labelNames: ['method', 'path'] as const,
    buckets: LATENCY_BUCKETS_MS,
    registers
  })
  const webhookRequests = new promClient.Counter({
    name: 'webhook_requests_total',
    help: 'POST /webhook requests by outcome.',
    labelNames: ['result'] as const,
    registers
  })
  for (const result of INITIAL_WEBHOOK_RESULTS) webhookRequests.inc({ result }, 0)
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
  fastify.decorate('appMetrics', { webhookRequests })

  // A callback hook, not an async one: no promise per request on the hot path.
  fastify.addHook('onResponse', (request, reply, done) => {
    // The route template, never the raw URL: unknown URLs (404, and 405 from the not-found handler)
    // all share one series.
    const path = request.is404 ? UNMATCHED_PATH : request.routeOptions.url ?? UNMATCHED_PATH
    const method = request.method
    httpRequests.inc({ method, path, status: reply.statusCode })
    latency.observe({ method, path }, reply.elapsedTime)
    done()
  })
}, { name: 'app-metrics', dependencies: ['metrics'] })

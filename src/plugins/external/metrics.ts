import fp from 'fastify-plugin'
import fastifyMetricsModule from 'fastify-metrics'
import promClient, { type Registry } from 'prom-client'

declare module 'fastify' {
  interface FastifyInstance {
    /** The registry /metrics exposes; app metrics register here too. */
    metricsRegistry: Registry
  }
}

/**
 * prom-client's `nodejs_active_{handles,requests,resources}_total` are gauges, and `promtool check
 * metrics` rejects a `_total` suffix on a non-counter. Each is the sum of the per-type gauge of the same
 * name without `_total` (`sum(nodejs_active_handles)`), so nothing is lost by dropping them.
 */
const NOT_PROMTOOL_CLEAN = ['nodejs_active_handles_total', 'nodejs_active_requests_total', 'nodejs_active_resources_total']

/**
 * fastify-metrics serves /metrics and the process metrics. Each app gets its own registry, so tests
 * that build several apps in one process never see each other's counts. Its own route metrics are off:
 * ours (plugins/app/app-metrics.ts) use the contract's names and labels.
 * https://github.com/SkeLLLa/fastify-metrics
 */
// fastify-metrics is CommonJS with an `exports.default`; under Node's ESM interop that is `.default`.
const fastifyMetrics = fastifyMetricsModule.default

export default fp(async (fastify) => {
  const registry = new promClient.Registry()
  fastify.decorate('metricsRegistry', registry)
  await fastify.register(fastifyMetrics, {
    endpoint: {
      url: '/metrics',
      method: 'GET',
      exposeHeadRoute: false,
      schema: {
        summary: 'Prometheus metrics',
        description: 'Prometheus text exposition format 0.0.4.',
        tags: ['operations'],
        produces: ['text/plain'],
        response: { 200: { type: 'string', description: 'Metrics in Prometheus text format.' } }
      },
      handler: () => {}
    },
    // fastify-metrics merges `promClient.register` with every other registry it knows on each scrape;
    // handing it ours as the client's register makes this one registry the only one it reads.
    promClient: { ...promClient, register: registry },
    routeMetrics: { enabled: false },
    defaultMetrics: { enabled: true, register: registry }
  })
  for (const name of NOT_PROMTOOL_CLEAN) registry.removeSingleMetric(name)
}, { name: 'metrics' })

import fp from 'fastify-plugin'

function levelFor (status: number): 'info' | 'warn' | 'error' {
  if (status >= 500 || status === 401) return 'error'
  return status >= 400 ? 'warn' : 'info'
}

/**
 * One JSON line per request, written when the response is done (Fastify's own request logging is
 * off). The request id comes from X-Request-Id when it is safe (see lib/request-id.ts) and is echoed
 * back, so a caller can find its line. Ingest routes add their outcome (plugins/app/ingest-outcome.ts).
 */
export default fp(async (fastify) => {
  // Callback hooks, not async ones: no promise per request on the hot path.
  fastify.addHook('onRequest', (request, reply, done) => {
    reply.header('x-request-id', request.id)
    done()
  })

  fastify.addHook('onResponse', (request, reply, done) => {
    const status = reply.statusCode
    const url = request.url
    const queryStart = url.indexOf('?')
    request.log[levelFor(status)]({
      method: request.method,
      path: queryStart === -1 ? url : url.slice(0, queryStart),
      status,
      latency_ms: Math.round(reply.elapsedTime * 1000) / 1000,
      ...request.ingest
    }, 'request completed')
    done()
  })
}, { name: 'access-log', dependencies: ['ingest-outcome'] })

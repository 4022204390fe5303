import fp from 'fastify-plugin'

export interface Lifecycle {
  /** True from the shutdown signal on: readiness answers 503 so load balancers stop routing here. */
  shuttingDown: boolean
  /** True once the server closes (after the drain): answers end their kept-alive connections. */
  closing: boolean
}

declare module 'fastify' {
  interface FastifyInstance {
    lifecycle: Lifecycle
  }
}

/**
 * Where the process is in its life. server.ts flips `shuttingDown` at the signal, before the drain
 * delay; preClose flips it too, so any close (tests call app.close()) turns readiness 503 first.
 *
 * Closing with pooling clients: Node's server.close() and Fastify close only the
 * connections idle at that moment and answer requests that start later with `Connection: close`. A
 * request already in flight would get a keep-alive answer, and its socket would then sit idle in the
 * client's pool until keepAliveTimeout, holding the close open until SHUTDOWN_GRACE_MS. So while
 * closing, every answer says `Connection: close` (Node then ends the socket after it), and any
 * connection that still turns idle is closed as soon as an answer finishes.
 * https://nodejs.org/api/http.html#serverclosecallback
 * https://nodejs.org/api/http.html#servercloseidleconnections
 */
export default fp(async (fastify) => {
  const lifecycle: Lifecycle = { shuttingDown: false, closing: false }
  fastify.decorate('lifecycle', lifecycle)
  fastify.addHook('preClose', async () => {
    lifecycle.shuttingDown = true
    lifecycle.closing = true
  })
  // Callback hooks, not async ones: no promise per request on the hot path.
  fastify.addHook('onSend', (_request, reply, payload, done) => {
    if (lifecycle.closing && !reply.raw.headersSent) reply.header('connection', 'close')
    done(null, payload)
  })
  fastify.addHook('onResponse', (_request, _reply, done) => {
    if (lifecycle.closing) fastify.server.closeIdleConnections()
    done()
  })
}, { name: 'lifecycle' })

import fp from 'fastify-plugin'

export interface Lifecycle {
  /** True from the shutdown signal on: readiness answers 503 so load balancers stop routing here. */
  shuttingDown: boolean
}

declare module 'fastify' {
  interface FastifyInstance {
    lifecycle: Lifecycle
  }
}

/**
 * Where the process is in its life. server.ts flips `shuttingDown` at the signal, before the drain
 * delay; preClose flips it too, so any close (tests call app.close()) turns readiness 503 first.
 */
export default fp(async (fastify) => {
  const lifecycle: Lifecycle = { shuttingDown: false }
  fastify.decorate('lifecycle', lifecycle)
  fastify.addHook('preClose', async () => {
    lifecycle.shuttingDown = true
  })
}, { name: 'lifecycle' })

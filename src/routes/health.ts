import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Live, NotReady, Ready, type ReadinessChecks } from '../../schemas/health.ts'
import { Type } from '../../schemas/typebox.ts'

/** Liveness for restarts, readiness for traffic: orchestrators probe these. */
const healthRoutes: FastifyPluginAsyncTypebox = async (fastify) => {
  fastify.get('/health/live', {
    schema: {
      summary: 'Liveness',
      description: '200 while the process runs. Never touches the database.',
      tags: ['health'],
      response: { 200: Type.Ref(Live) }
    }
  }, async () => ({ status: 'ok' as const }))

  fastify.get('/health/ready', {
    schema: {
      summary: 'Readiness',
      description: '200 only when the database answers, the schema is migrated, a write lock can be taken ' +
        '(BEGIN IMMEDIATE; ROLLBACK) and the server is not shutting down; otherwise 503 naming the failed check.',
      tags: ['health'],
      response: { 200: Type.Ref(Ready), 503: Type.Ref(NotReady) }
    }
  }, async (_request, reply) => {
    const checks: ReadinessChecks = { ...await fastify.store.checks(), shutdown: fastify.lifecycle.shuttingDown ? 'shutting down' : 'ok' }
    if (Object.values(checks).every((check) => check === 'ok')) return { status: 'ready' as const }
    return reply.code(503).send({ status: 'not_ready' as const, checks })
  })
}

export default healthRoutes

import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { ErrorBody } from '../../schemas/common.ts'
import { Stats } from '../../schemas/stats.ts'
import { Type } from '../../schemas/typebox.ts'

const statsRoutes: FastifyPluginAsyncTypebox = async (fastify) => {
  fastify.get('/stats', {
    schema: {
      summary: 'Aggregate figures',
      description: 'Totals, distinct senders, the top 10 senders and the first and last timestamps.',
      tags: ['messages'],
      response: { 200: Type.Ref(Stats), 503: Type.Ref(ErrorBody) }
    }
  }, async () => fastify.store.stats())
}

export default statsRoutes

import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { ErrorBody, ValidationErrorBody } from '../../schemas/common.ts'
import { MessagesPage, MessagesQuery } from '../../schemas/messages.ts'
import { Type } from '../../schemas/typebox.ts'
import { normalizeSender } from '../lib/sender.ts'

const messagesRoutes: FastifyPluginAsyncTypebox = async (fastify) => {
  fastify.get('/messages', {
    schema: {
      summary: 'List stored messages',
      description: 'Ordered by ts instant, then message_id. Filters combine with AND; total ignores limit and offset.',
      tags: ['messages'],
      querystring: MessagesQuery,
      response: { 200: Type.Ref(MessagesPage), 422: Type.Ref(ValidationErrorBody), 503: Type.Ref(ErrorBody) }
    }
  }, async (request) => {
    const { from, ...rest } = request.query
    return fastify.store.list({ ...rest, ...(from === undefined ? {} : { from: normalizeSender(from) }) })
  })
}

export default messagesRoutes

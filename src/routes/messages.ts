import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { ErrorBody, ValidationErrorBody } from '../../schemas/common.ts'
import { MessagesPage, MessagesQuery } from '../../schemas/messages.ts'
import { Type } from '../../schemas/typebox.ts'
import { decodeCursor, encodeCursor } from '../lib/cursor.ts'
import { normalizeSender } from '../lib/sender.ts'

/** A 422 shaped like the schema validator's, for a cursor that passes the pattern but was not issued by us. */
function invalidCursor (after: string): Error {
  return Object.assign(new Error('invalid cursor'), {
    statusCode: 422,
    validationContext: 'querystring',
    validation: [{
      keyword: 'cursor_invalid',
      instancePath: '/after',
      schemaPath: '#/properties/after',
      params: {},
      message: 'Input should be a cursor from a previous page\'s Link header',
      data: after
    }]
  })
}

const messagesRoutes: FastifyPluginAsyncTypebox = async (fastify) => {
  fastify.get('/messages', {
    schema: {
      summary: 'List stored messages',
      description: 'Ordered by ts instant, then message_id. Filters combine with AND; total ignores limit and offset. ' +
        'When more rows follow, a `Link: <…>; rel="next"` header names the next page (keyset cursor `after`).',
      tags: ['messages'],
      querystring: MessagesQuery,
      response: { 200: Type.Ref(MessagesPage), 422: Type.Ref(ValidationErrorBody), 503: Type.Ref(ErrorBody) }
    }
  }, async (request, reply) => {
    const { from, after, ...rest } = request.query
    const position = after === undefined ? undefined : decodeCursor(after)
    if (position === null) throw invalidCursor(after!)
    const sender = from === undefined ? undefined : normalizeSender(from)
    const { next, ...page } = await fastify.store.list({
      ...rest,
      ...(sender === undefined ? {} : { from: sender }),
      ...(position === undefined ? {} : { after: position })
    })
    if (next != null) {
      // Same filters and limit, offset dropped: the cursor already says where the next page starts.
      // https://www.rfc-editor.org/rfc/rfc8288
      const query = new URLSearchParams({ limit: String(page.limit) })
      if (sender !== undefined) query.set('from', sender)
      if (rest.since !== undefined) query.set('since', rest.since)
      if (rest.q !== undefined && rest.q !== '') query.set('q', rest.q)
      query.set('after', encodeCursor(next))
      reply.header('link', `</messages?${query.toString()}>; rel="next"`)
    }
    return page
  })
}

export default messagesRoutes

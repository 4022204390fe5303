import { Readable } from 'node:stream'
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { ErrorBody, ValidationErrorBody } from '../../schemas/common.ts'
import { ExportQuery } from '../../schemas/messages.ts'
import { Type } from '../../schemas/typebox.ts'
import { EXPORT_CONTENT_TYPE, EXPORT_HEADER, EXPORT_LINES, formatFromAccept } from '../lib/export-format.ts'
import { normalizeSender } from '../lib/sender.ts'
import type { Message } from '../../schemas/messages.ts'

const exportRoutes: FastifyPluginAsyncTypebox = async (fastify) => {
  fastify.get('/messages/export', {
    schema: {
      summary: 'Export every matching message',
      description: 'The filters of `GET /messages` (same repair of `from`, same folding, same 422s), no paging, in the same ' +
        'order, streamed: exactly the rows committed when the export started, whatever arrives meanwhile. NDJSON by ' +
        'default (one /messages item per line, each ending in `\\n`); CSV with `format=csv`, or `Accept: text/csv` ' +
        'without `format` (header `message_id,from,to,ts,text`, RFC 4180 quoting, CRLF line ends, a null text as an ' +
        'empty field and an empty text as `""`). Sent as an attachment, `messages.ndjson` or `messages.csv`.',
      tags: ['messages'],
      querystring: ExportQuery,
      response: {
        200: {
          description: 'The matching messages, streamed.',
          content: {
            [EXPORT_CONTENT_TYPE.ndjson]: { schema: Type.String({ description: 'One JSON Message per line, each line ending in \\n.' }) },
            [EXPORT_CONTENT_TYPE.csv]: { schema: Type.String({ description: 'Header line message_id,from,to,ts,text, then one record per message.' }) }
          }
        },
        422: Type.Ref(ValidationErrorBody),
        503: Type.Ref(ErrorBody)
      }
    }
  }, async (request, reply) => {
    const { from, since, q, format = formatFromAccept(request.headers.accept) } = request.query
    const sender = from === undefined ? undefined : normalizeSender(from)
    const pages = fastify.store.exportMessages({
      ...(sender === undefined ? {} : { from: sender }),
      ...(since === undefined ? {} : { since }),
      ...(q === undefined ? {} : { q })
    })[Symbol.asyncIterator]()
    // The first page before any byte is sent: the snapshot is taken now, and a store that cannot
    // answer still gets a proper 503 instead of a cut stream.
    const first = await pages.next()
    const lines = EXPORT_LINES[format]
    async function * body (): AsyncGenerator<string> {
      try {
        let page: IteratorResult<Message[]> = first
        yield EXPORT_HEADER[format] + (page.done === true ? '' : lines(page.value))
        while ((page = await pages.next()).done !== true) yield lines(page.value)
      } finally {
        // Also when the client went away mid-export (Fastify destroys the stream): releases the snapshot.
        await pages.return?.()
      }
    }
    // A byte stream (not object mode): it pulls the next page only when what it holds (16 KiB) was taken
    // by the socket, so a slow client slows the reads instead of filling memory.
    const stream = Readable.from(body(), { objectMode: false })
    return reply
      .type(EXPORT_CONTENT_TYPE[format])
      .header('content-disposition', `attachment; filename="messages.${format}"`)
      // The type provider reads the 200 schema as one string; the stream sends that string in pieces.
      .send(stream as unknown as string)
  })
}

export default exportRoutes

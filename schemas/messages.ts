import { timestamp } from './common.ts'
import { Type, type Static } from './typebox.ts'

export const Message = Type.Object({
  message_id: Type.String({ description: 'Provider message id.' }),
  from: Type.String({ description: 'Sender MSISDN.' }),
  to: Type.String({ description: 'Recipient MSISDN.' }),
  ts: Type.String({ description: 'The timestamp exactly as received.' }),
  text: Type.Union([Type.String(), Type.Null()], { description: 'Message text, null when none was sent.' })
}, { $id: 'Message', description: 'A stored message.', additionalProperties: false })
export type Message = Static<typeof Message>

export const MessagesQuery = Type.Object({
  limit: Type.Integer({ minimum: 1, maximum: 100, default: 50, description: 'Page size.' }),
  // The cap keeps every accepted offset a 64-bit integer SQLite can bind (1e20 would be a 5xx).
  offset: Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER, default: 0, description: 'Rows to skip.' }),
  from: Type.Optional(Type.String({
    description: 'Exact sender. An unencoded "+" (decoded as a space) is repaired, surrounding spaces are trimmed.'
  })),
  since: Type.Optional(timestamp('Keep messages at or after this instant.')),
  q: Type.Optional(Type.String({ description: 'Case-insensitive literal substring of text; empty means no filter.' })),
  after: Type.Optional(Type.String({
    pattern: '^[A-Za-z0-9_-]+$',
    description: 'Keyset paging: an opaque cursor from the `Link: <…>; rel="next"` header of the previous page. ' +
      'Only rows after that page\'s last row are listed (offset then counts from there); costs the same at any depth. ' +
      'total still counts every matching row.'
  }))
})
export type MessagesQuery = Static<typeof MessagesQuery>

export const MessagesPage = Type.Object({
  data: Type.Array(Type.Ref(Message), { description: 'Ordered by ts instant, then message_id.' }),
  total: Type.Integer({ description: 'Rows matching the filters, ignoring limit and offset.' }),
  limit: Type.Integer({ description: 'The limit used.' }),
  offset: Type.Integer({ description: 'The offset used.' })
}, { $id: 'MessagesPage', description: 'One page of messages.' })
export type MessagesPage = Static<typeof MessagesPage>

/** GET /messages/export: the listing's filters (the same schemas, so the same 422s), no paging, and a format. */
export const ExportQuery = Type.Object({
  from: MessagesQuery.properties.from,
  since: MessagesQuery.properties.since,
  q: MessagesQuery.properties.q,
  // One enum rather than a union of literals: a wrong value is then one 422 entry, not three.
  format: Type.Optional(Type.Unsafe<'ndjson' | 'csv'>(Type.String({
    enum: ['ndjson', 'csv'],
    description: 'ndjson (the default) or csv. Without it, `Accept: text/csv` selects csv.'
  })))
})
export type ExportQuery = Static<typeof ExportQuery>

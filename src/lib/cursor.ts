import type { PagePosition } from '../store/port.ts'

// The opaque `after` cursor of keyset paging: a page position (instant key, message_id) as base64url
// of its UTF-8 text. Opaque so clients treat it as a token; decoding checks its shape, so a forged or
// truncated cursor is a 422 rather than a surprise.

/** instantKey()'s output: fixed width, nine fraction digits. */
const TS_KEY = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{9}Z$/

export const CURSOR_PATTERN = '^[A-Za-z0-9_-]+$'

const CURSOR = new RegExp(CURSOR_PATTERN)
const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true })

export function encodeCursor (position: PagePosition): string {
  return Buffer.from(`${position.tsKey}\n${position.messageId}`, 'utf8').toString('base64url')
}

/** The position a cursor names, or null when it is not one this service issued. */
export function decodeCursor (cursor: string): PagePosition | null {
  if (!CURSOR.test(cursor)) return null
  const bytes = Buffer.from(cursor, 'base64url')
  // Reject non-canonical encodings and invalid UTF-8: only what encodeCursor produced decodes.
  if (bytes.toString('base64url') !== cursor) return null
  let text: string
  try {
    text = utf8.decode(bytes)
  } catch {
    return null
  }
  const split = text.indexOf('\n')
  if (split === -1) return null
  const tsKey = text.slice(0, split)
  const messageId = text.slice(split + 1)
  if (!TS_KEY.test(tsKey) || messageId === '') return null
  return { tsKey, messageId }
}

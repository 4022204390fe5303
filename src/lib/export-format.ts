import type { Message } from '../../schemas/messages.ts'

/** The two export formats. */
export type ExportFormat = 'ndjson' | 'csv'

export const EXPORT_CONTENT_TYPE: Readonly<Record<ExportFormat, string>> = {
  ndjson: 'application/x-ndjson',
  csv: 'text/csv; charset=utf-8'
}

/** What comes before the first row: the CSV header line (RFC 4180 §2.3); NDJSON has none. */
export const EXPORT_HEADER: Readonly<Record<ExportFormat, string>> = {
  ndjson: '',
  csv: 'message_id,from,to,ts,text\r\n'
}

/**
 * One NDJSON line per message: the five keys of a /messages item, in that order, and `\n`.
 * JSON.stringify escapes every line break inside strings, so a line is always one item.
 * https://github.com/ndjson/ndjson-spec
 */
export function ndjsonLines (messages: readonly Message[]): string {
  let out = ''
  for (const m of messages) {
    out += JSON.stringify({ message_id: m.message_id, from: m.from, to: m.to, ts: m.ts, text: m.text }) + '\n'
  }
  return out
}

/**
 * RFC 4180 §2.6-2.7: a field holding a comma, a double quote, CR or LF is enclosed in double quotes, its
 * quotes doubled. An empty string is written as `""`, so it stays apart from a null text (an empty field).
 * https://www.rfc-editor.org/rfc/rfc4180#section-2
 */
export function csvField (value: string | null): string {
  if (value === null) return ''
  if (value === '' || /[",\r\n]/.test(value)) return `"${value.replaceAll('"', '""')}"`
  return value
}

/** One CSV record per message, each ending in CRLF (RFC 4180 §2.1). */
export function csvLines (messages: readonly Message[]): string {
  let out = ''
  for (const m of messages) {
    out += `${csvField(m.message_id)},${csvField(m.from)},${csvField(m.to)},${csvField(m.ts)},${csvField(m.text)}\r\n`
  }
  return out
}

export const EXPORT_LINES: Readonly<Record<ExportFormat, (messages: readonly Message[]) => string>> = {
  ndjson: ndjsonLines,
  csv: csvLines
}

/**
 * The format for a request without `format`: CSV when the Accept header asks for `text/csv` with a
 * higher weight than `application/x-ndjson` (absent: 0), NDJSON otherwise, the default.
 * https://www.rfc-editor.org/rfc/rfc9110#section-12.5.1
 */
export function formatFromAccept (accept: string | undefined): ExportFormat {
  if (accept === undefined) return 'ndjson'
  const weights = new Map<string, number>()
  for (const range of accept.split(',')) {
    const [type = '', ...params] = range.split(';').map((p) => p.trim().toLowerCase())
    const q = params.find((p) => p.startsWith('q='))
    const weight = q === undefined ? 1 : Number(q.slice(2))
    weights.set(type, Number.isFinite(weight) ? weight : 0)
  }
  const csv = weights.get('text/csv') ?? 0
  return csv > 0 && csv > (weights.get('application/x-ndjson') ?? 0) ? 'csv' : 'ndjson'
}

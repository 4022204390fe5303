import type { Message } from '../../schemas/messages.ts'
import type { Stats } from '../../schemas/stats.ts'
import { instantKey } from '../../src/lib/timestamp.ts'
import { foldCase } from '../../src/store/fold-case.ts'
import type { ExportFilter } from '../../src/store/port.ts'

/** Byte order of the UTF-8 encodings: the order the contract gives message ids and senders. */
export const byteOrder = (a: string, b: string) => Buffer.compare(Buffer.from(a), Buffer.from(b))

/**
 * /stats by its plain definition, from every stored row already in the listing's order (ts instant,
 * then message_id): the answer the store's fast paths must match.
 */
export function plainStats (ordered: readonly Message[]): Stats {
  const counts = new Map<string, number>()
  for (const r of ordered) counts.set(r.from, (counts.get(r.from) ?? 0) + 1)
  return {
    total_messages: ordered.length,
    senders_count: counts.size,
    messages_per_sender: [...counts].map(([from, count]) => ({ from, count }))
      .sort((a, b) => b.count - a.count || byteOrder(a.from, b.from)).slice(0, 10),
    first_message_ts: ordered[0]?.ts ?? null,
    last_message_ts: ordered.at(-1)?.ts ?? null
  }
}

/** The rows matching `filter` by its plain definition, in the listing's order (ts instant, then message_id bytes). */
export function plainMatches (rows: Iterable<Message>, filter: ExportFilter): Message[] {
  const q = filter.q === undefined || filter.q === '' ? undefined : foldCase(filter.q)
  return [...rows]
    .filter((r) => filter.from === undefined || r.from === filter.from)
    .filter((r) => filter.since === undefined || instantKey(r.ts)! >= instantKey(filter.since)!)
    .filter((r) => q === undefined || (r.text !== null && foldCase(r.text).includes(q)))
    .sort((a, b) => {
      const [ka, kb] = [instantKey(a.ts)!, instantKey(b.ts)!]
      return ka !== kb ? (ka < kb ? -1 : 1) : byteOrder(a.message_id, b.message_id)
    })
}

import assert from 'node:assert/strict'
import { test } from 'node:test'
import { foldCase } from '../../src/store/fold-case.ts'
import { instantKey } from '../../src/lib/timestamp.ts'
import { random } from '../../scripts/random.ts'
import { build, deliver, message } from '../helper.ts'

interface Row { message_id: string, from: string, to: string, ts: string, text: string | null }

const WORDS = ['hello', 'HELLO', 'Café', 'CAFÉ', 'straße', '100%', 'snake_case', 'ΟΔΟΣ', 'naïve', 'a', 'ab', 'Zebra', '😀', '']
const pick = <T>(rnd: () => number, items: readonly T[]): T => items[Math.floor(rnd() * items.length)]!

/** The contract's definitions, computed the slow, obvious way. */
function expected (rows: Row[], query: { limit: number, offset: number, from?: string, since?: string, q?: string }) {
  const matching = rows
    .filter((r) => query.from === undefined || r.from === query.from)
    .filter((r) => query.since === undefined || instantKey(r.ts)! >= instantKey(query.since)!)
    .filter((r) => query.q === undefined || query.q === '' || (r.text !== null && foldCase(r.text).includes(foldCase(query.q))))
    .sort((a, b) => {
      const ka = instantKey(a.ts)!
      const kb = instantKey(b.ts)!
      if (ka !== kb) return ka < kb ? -1 : 1
      return Buffer.compare(Buffer.from(a.message_id), Buffer.from(b.message_id))
    })
  return { data: matching.slice(query.offset, query.offset + query.limit), total: matching.length, limit: query.limit, offset: query.offset }
}

function expectedStats (rows: Row[]) {
  const counts = new Map<string, number>()
  for (const r of rows) counts.set(r.from, (counts.get(r.from) ?? 0) + 1)
  const top = [...counts].map(([from, count]) => ({ from, count }))
    .sort((a, b) => b.count - a.count || (a.from < b.from ? -1 : a.from > b.from ? 1 : 0)).slice(0, 10)
  const byInstant = expected(rows, { limit: rows.length, offset: 0 }).data
  return {
    total_messages: rows.length,
    senders_count: counts.size,
    messages_per_sender: top,
    first_message_ts: byInstant[0]?.ts ?? null,
    last_message_ts: byInstant.at(-1)?.ts ?? null
  }
}

test('random deliveries and queries agree with the contract computed naively', async (t) => {
  const rnd = random(20250115)
  const { app } = await build(t)
  const stored = new Map<string, Row>()
  const senders = Array.from({ length: 14 }, (_, i) => `+${91000 + i * 7}`)
  for (let i = 0; i < 300; i++) {
    const id = rnd() < 0.15 && stored.size > 0 ? pick(rnd, [...stored.keys()]) : `id-${Math.floor(rnd() * 1e6)}-${pick(rnd, ['', 'é', 'Z', '_'])}`
    const fraction = rnd() < 0.5 ? '' : `.${String(Math.floor(rnd() * 1e6)).slice(0, 1 + Math.floor(rnd() * 6))}`
    const ts = `2025-01-${String(1 + Math.floor(rnd() * 3)).padStart(2, '0')}T10:0${Math.floor(rnd() * 3)}:00${fraction}Z`
    const text = rnd() < 0.1 ? null : `${pick(rnd, WORDS)} ${pick(rnd, WORDS)}`
    const row: Row = { message_id: id, from: pick(rnd, senders), to: '+1', ts, text }
    const response = await deliver(app, message(row as unknown as Record<string, unknown>))
    assert.equal(response.statusCode, 200)
    if (!stored.has(id)) stored.set(id, row)
  }
  const rows = [...stored.values()]
  for (let i = 0; i < 200; i++) {
    const query: { limit: number, offset: number, from?: string, since?: string, q?: string } = {
      limit: 1 + Math.floor(rnd() * 100),
      offset: Math.floor(rnd() * (rnd() < 0.8 ? 40 : 400))
    }
    if (rnd() < 0.4) query.from = pick(rnd, senders)
    if (rnd() < 0.3) query.since = pick(rnd, rows).ts
    if (rnd() < 0.4) query.q = pick(rnd, ['hello', 'É', 'é', 'ss', 'SS', '%', '_', 'e_c', 'σ', 'a', 'ab', 'b', '😀', 'zz', ' ', 'ï'])
    const url = '/messages?' + new URLSearchParams(Object.entries(query).map(([k, v]): [string, string] => [k, String(v)])).toString()
    assert.deepEqual((await app.inject(url)).json(), expected(rows, query), url)
  }
  assert.deepEqual((await app.inject('/stats')).json(), expectedStats(rows))
})

/**
 * Deterministic synthetic deliveries for seeding and load: ~1,000 senders with a skewed share each,
 * English-like texts with some non-ASCII words, a few rare tokens, and timestamps that move forward
 * with a little jitter (providers send "now", slightly out of order).
 */

export interface Delivery {
  message_id: string
  from: string
  to: string
  ts: string
  text: string | null
}

/** Words by frequency rank: the first ones appear in most messages, like real text. */
const WORDS = ('the your order to is and has been for you a of on with please code at this payment your delivery ' +
  'shipped today tomorrow thanks confirm account balance reminder appointment ticket booking ready here ' +
  'track refund invoice number receipt update call back soon meeting hotel flight train station pickup ' +
  'address changed verify login new device password reset offer valid until store open closed weekend').split(' ')
const FOREIGN = ['Grüße', 'Straße', 'café', 'ÉCOLE', 'naïve', 'ΣΟΦΊΑ', 'привет', 'Ünïcödé', 'año', '東京', '🎉', 'İstanbul']

export const SENDERS = 1000
export const sender = (i: number) => `+9198${String(i).padStart(8, '0')}`

/** A rare token (about 1 message in 20,000) the benchmark searches for. */
export const RARE_WORD = 'zyxomat'

export function textOf (rnd: () => number): string | null {
  if (rnd() < 0.02) return null
  const words: string[] = []
  for (let n = 3 + Math.floor(rnd() * 12); n > 0; n--) {
    const r = rnd()
    if (r < 0.04) words.push(FOREIGN[Math.floor(rnd() * FOREIGN.length)]!)
    else if (r < 0.05) words.push(`ref-${Math.floor(rnd() * 1e8).toString(36)}`)
    else words.push(WORDS[Math.floor(rnd() ** 2.2 * WORDS.length)]!)
  }
  if (rnd() < 1 / 20_000) words.push(RARE_WORD)
  return words.join(' ')
}

/** An ISO `ts` for epoch milliseconds, with 0–9 fraction digits like providers send. */
export function tsOf (ms: number, rnd: () => number): string {
  const iso = new Date(ms).toISOString() // 2025-01-15T10:00:00.123Z
  const digits = Math.floor(rnd() * 4) * 3 // "", .123, .123456, .123456789
  if (digits === 0) return `${iso.slice(0, 19)}Z`
  const fraction = (iso.slice(20, 23) + String(Math.floor(rnd() * 1e6)).padStart(6, '0')).slice(0, digits)
  return `${iso.slice(0, 19)}.${fraction}Z`
}

/** The i-th delivery of a stream: `idPrefix` keeps streams' ids apart, `startMs`/`stepMs` place it in time. */
export function delivery (rnd: () => number, idPrefix: string, i: number, startMs: number, stepMs: number): Delivery {
  return {
    message_id: `${idPrefix}${i}`,
    from: sender(Math.floor(rnd() ** 2 * SENDERS)),
    to: '+14155550100',
    ts: tsOf(startMs + i * stepMs + Math.floor((rnd() - 0.5) * 2000), rnd),
    text: textOf(rnd)
  }
}

/**
 * A message id as providers make them, random like theirs: half WhatsApp Cloud API-like (`wamid.` and
 * base64 of 30 bytes), half Twilio-like (`SM` and 32 lowercase hex digits). From `rnd`, so reproducible.
 */
export function providerId (rnd: () => number): string {
  const bytes = (n: number) => Buffer.from(Array.from({ length: n }, () => Math.floor(rnd() * 256)))
  return rnd() < 0.5 ? `wamid.${bytes(30).toString('base64')}` : `SM${bytes(16).toString('hex')}`
}

/** Where the seeded history starts; the load generator's "now" lies after the end of any seed. */
export const SEED_START_MS = Date.UTC(2025, 0, 1)
export const SEED_STEP_MS = 2500

import { createHmac, timingSafeEqual } from 'node:crypto'
import { matchKey, type Keyring, type KeyUsed } from '../lib/keyring.ts'

// Standard Webhooks (https://www.standardwebhooks.com/, spec/standard-webhooks.md): how a delivery to
// POST /webhook is verified when it carries `webhook-signature` instead of `X-Signature`. The body
// rules, answers and storage are POST /webhook's own (routes/webhook.ts).

const SECRET_PREFIX = 'whsec_'
const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/
const UNIX_SECONDS = /^\d{1,15}$/

/**
 * The HMAC key of a `whsec_<base64>` secret, or null when the prefix is missing or the rest is not
 * canonical base64 of at least one byte. (The reference libraries also accept a bare base64 secret;
 * hookvault refuses it, so a secret pasted without its prefix is caught at start, not at the first
 * delivery.)
 */
export function decodeSecret (secret: string): Buffer | null {
  if (!secret.startsWith(SECRET_PREFIX)) return null
  const encoded = secret.slice(SECRET_PREFIX.length)
  if (!BASE64.test(encoded)) return null
  const key = Buffer.from(encoded, 'base64')
  // Buffer.from ignores what it cannot decode; a round trip proves nothing was dropped.
  if (key.length === 0 || key.toString('base64').replace(/=+$/, '') !== encoded.replace(/=+$/, '')) return null
  return key
}

export interface StandardWebhookHeaders {
  id: string | undefined
  timestamp: string | undefined
  signature: string | undefined
}

/**
 * Which key signed this delivery, or `none`. All three headers must be present, the timestamp (Unix
 * seconds) within `toleranceS` of `nowS` either way, and one `v1,<base64>` entry of the
 * space-separated signature list must equal base64(HMAC-SHA256(key, `${id}.${timestamp}.${body}`));
 * entries of other versions are ignored, as the spec asks.
 */
export function verifyStandardWebhook (
  keys: Keyring<Buffer>, headers: StandardWebhookHeaders, body: Buffer, nowS: number, toleranceS: number
): KeyUsed {
  const { id, timestamp, signature } = headers
  if (id === undefined || id === '' || timestamp === undefined || signature === undefined) return 'none'
  if (!UNIX_SECONDS.test(timestamp)) return 'none'
  const seconds = Number(timestamp)
  if (Math.abs(nowS - seconds) > toleranceS) return 'none'
  const offered = signature.split(' ')
    .filter((entry) => entry.startsWith('v1,'))
    .map((entry) => Buffer.from(entry.slice(3)))
  if (offered.length === 0) return 'none'
  // Signed over the timestamp as an integer, as the reference libraries re-serialise it.
  const prefix = `${id}.${seconds}.`
  return matchKey(keys, (key) => {
    const expected = Buffer.from(createHmac('sha256', key).update(prefix).update(body).digest('base64'))
    let found = false
    for (const candidate of offered) {
      if (candidate.length === expected.length && timingSafeEqual(candidate, expected)) found = true
    }
    return found
  })
}

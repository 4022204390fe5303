import { createHmac } from 'node:crypto'
import { readFileSync } from 'node:fs'
import type { FastifyInstance } from 'fastify'
import { sign as metaSign } from '@octokit/webhooks-methods'
import { Webhook } from 'standardwebhooks'
import { parseExposition, type Exposition } from './exposition.ts'

export { valueOf } from './exposition.ts'

const FIXTURES = new URL('../fixtures/providers/', import.meta.url)

/** A provider fixture, byte for byte (test/fixtures/providers/SOURCES.md says where each comes from). */
export const fixture = (name: string): Buffer => readFileSync(new URL(name.replace(/^fixtures\//, ''), FIXTURES))

export interface Vector {
  id: string
  provider: 'twilio' | 'meta-whatsapp' | 'standard-webhooks'
  status: string
  auth_token?: string
  url?: string
  params?: Record<string, string>
  params_file?: string
  params_override?: Record<string, string>
  body?: string
  body_file?: string
  expected_signature?: string
  expected_header?: string
  app_secret?: string
  secret?: string
  msg_id?: string
  timestamp?: number
  payload?: string
}

export const vectors: Vector[] = JSON.parse(fixture('vectors.json').toString('utf8')).vectors

/** Every value the provider libraries' signing sides would use in these tests. */
export const WHATSAPP_SECRET = 'TEST_APP_SECRET' // the secret of Meta's own SDK test (vectors.json meta-sdk-utils)
export const WHATSAPP_VERIFY_TOKEN = 'verify-me-please'
export const TWILIO_TOKEN = '12345' // twilio-node's test token
export const PUBLIC_BASE_URL = 'https://example.com'
export const SW_SECRET = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw' // the Standard Webhooks libraries' test secret

/** The environment that turns on every §11 scheme. */
export const PROVIDERS_ENV: Record<string, string> = {
  STANDARD_WEBHOOKS_SECRET: SW_SECRET,
  WHATSAPP_APP_SECRET: WHATSAPP_SECRET,
  WHATSAPP_VERIFY_TOKEN,
  TWILIO_AUTH_TOKEN: TWILIO_TOKEN,
  PUBLIC_BASE_URL
}

/** X-Hub-Signature-256 as Meta computes it, by @octokit/webhooks-methods (the same algorithm, `sha256=` + hex). */
export const whatsappSignature = (secret: string, body: Buffer | string): Promise<string> =>
  metaSign(secret, Buffer.isBuffer(body) ? body.toString('utf8') : body)

/** The three Standard Webhooks headers, signed by the reference library `standardwebhooks`. */
export function standardWebhookHeaders (secret: string, id: string, at: Date, payload: string): Record<string, string> {
  return {
    'webhook-id': id,
    'webhook-timestamp': String(Math.floor(at.getTime() / 1000)),
    'webhook-signature': new Webhook(secret).sign(id, at, payload)
  }
}

/**
 * X-Twilio-Signature, written here from Twilio's documented algorithm (not from src/), and checked
 * against every Twilio vector of vectors.json by twilio.test.ts before anything relies on it.
 */
export function twilioSignature (token: string, url: string, form: string | Record<string, string>): string {
  const pairs = typeof form === 'string' ? [...new URLSearchParams(form)] : Object.entries(form)
  const byName = new Map<string, Set<string>>()
  for (const [name, value] of pairs) byName.set(name, (byName.get(name) ?? new Set()).add(value))
  let data = url
  for (const name of [...byName.keys()].sort()) for (const value of [...byName.get(name)!].sort()) data += name + value
  return createHmac('sha1', token).update(Buffer.from(data, 'utf-8')).digest('base64')
}

export function postWhatsApp (app: FastifyInstance, body: Buffer | string, signature: string | undefined, headers: Record<string, string> = {}) {
  return app.inject({
    method: 'POST',
    url: '/webhooks/whatsapp',
    headers: { 'content-type': 'application/json', ...(signature === undefined ? {} : { 'x-hub-signature-256': signature }), ...headers },
    payload: body
  })
}

export function postTwilio (app: FastifyInstance, form: Buffer | string, signature: string | undefined, options: { url?: string, headers?: Record<string, string> } = {}) {
  return app.inject({
    method: 'POST',
    url: options.url ?? '/webhooks/twilio',
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      ...(signature === undefined ? {} : { 'x-twilio-signature': signature }),
      ...options.headers
    },
    payload: form
  })
}

export async function scrape (app: FastifyInstance): Promise<Exposition> {
  return parseExposition((await app.inject('/metrics')).body)
}

export async function listMessages (app: FastifyInstance) {
  return (await app.inject('/messages?limit=100')).json() as {
    data: Array<{ message_id: string, from: string, to: string, ts: string, text: string | null }>
    total: number
  }
}

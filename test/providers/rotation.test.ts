import assert from 'node:assert/strict'
import { test } from 'node:test'
import type { FastifyInstance } from 'fastify'
import { sign } from '../../src/lib/signature.ts'
import { SECRET, build, message } from '../helper.ts'
import {
  PROVIDERS_ENV, PUBLIC_BASE_URL, SW_SECRET, TWILIO_TOKEN, WHATSAPP_SECRET, fixture, postTwilio, postWhatsApp, scrape,
  standardWebhookHeaders, twilioSignature, valueOf, whatsappSignature
} from '../helpers/providers.ts'

const OLD_SW = 'whsec_' + Buffer.from('the previous standard webhooks key').toString('base64')
const UNKNOWN_SW = 'whsec_' + Buffer.from('a key nobody configured').toString('base64')

const ENV = {
  ...PROVIDERS_ENV,
  WEBHOOK_SECRET_PREVIOUS: 'old-webhook-secret-1,old-webhook-secret-2',
  STANDARD_WEBHOOKS_SECRET_PREVIOUS: OLD_SW,
  WHATSAPP_APP_SECRET_PREVIOUS: 'old-app-secret',
  TWILIO_AUTH_TOKEN_PREVIOUS: 'old-twilio-token'
}

type Sender = (app: FastifyInstance, key: string, n: number) => Promise<number>

/** Per scheme: how to deliver message n signed with a key, and its current, previous and unknown keys. */
const SCHEMES: Record<string, { send: Sender, current: string, previous: string, unknown: string }> = {
  webhook: {
    current: SECRET,
    previous: 'old-webhook-secret-2',
    unknown: 'not-a-configured-secret',
    send: async (app, key, n) => {
      const payload = JSON.stringify(message({ message_id: `x-sig-${n}` }))
      const response = await app.inject({ method: 'POST', url: '/webhook', headers: { 'content-type': 'application/json', 'x-signature': sign(key, payload) }, payload })
      return response.statusCode
    }
  },
  standard_webhooks: {
    current: SW_SECRET,
    previous: OLD_SW,
    unknown: UNKNOWN_SW,
    send: async (app, key, n) => {
      const payload = JSON.stringify(message({ message_id: `sw-${n}` }))
      const headers = standardWebhookHeaders(key, `msg_${n}`, new Date(), payload)
      const response = await app.inject({ method: 'POST', url: '/webhook', headers: { 'content-type': 'application/json', ...headers }, payload })
      return response.statusCode
    }
  },
  whatsapp: {
    current: WHATSAPP_SECRET,
    previous: 'old-app-secret',
    unknown: 'unknown-app-secret',
    send: async (app, key, n) => {
      const body = fixture('whatsapp-text.json').toString('utf8').replace('wamid.', `wamid.rotation${n}.`)
      return (await postWhatsApp(app, body, await whatsappSignature(key, body))).statusCode
    }
  },
  twilio: {
    current: TWILIO_TOKEN,
    previous: 'old-twilio-token',
    unknown: 'unknown-twilio-token',
    send: async (app, key, n) => {
      const form = fixture('twilio-sms.form').toString('utf8').replace('MessageSid=SMa', `MessageSid=SMrotation${n}a`)
      return (await postTwilio(app, form, twilioSignature(key, `${PUBLIC_BASE_URL}/webhooks/twilio`, form))).statusCode
    }
  }
}

test('rotation, per scheme: the current and a previous key pass and are counted as such; an unknown key is 401, counted none', async (t) => {
  const { app } = await build(t, ENV)
  for (const [source, scheme] of Object.entries(SCHEMES)) {
    const before = await scrape(app)
    for (const key of ['current', 'previous', 'none'] as const) {
      assert.equal(valueOf(before, 'signature_checks_total', { source, key }), 0, `${source} ${key} starts at 0`)
    }
    assert.equal(await scheme.send(app, scheme.current, 1), 200, `${source} current`)
    assert.equal(await scheme.send(app, scheme.previous, 2), 200, `${source} previous`)
    assert.equal(await scheme.send(app, scheme.previous, 3), 200, `${source} previous again`)
    assert.equal(await scheme.send(app, scheme.unknown, 4), 401, `${source} unknown`)
    const after = await scrape(app)
    assert.equal(valueOf(after, 'signature_checks_total', { source, key: 'current' }), 1, `${source} current`)
    assert.equal(valueOf(after, 'signature_checks_total', { source, key: 'previous' }), 2, `${source} previous`)
    assert.equal(valueOf(after, 'signature_checks_total', { source, key: 'none' }), 1, `${source} none`)
  }
  assert.equal((await app.inject('/stats')).json().total_messages, 12)
})

test('without a _PREVIOUS list, an old key is just an unknown key', async (t) => {
  const { app } = await build(t, PROVIDERS_ENV)
  for (const [source, scheme] of Object.entries(SCHEMES)) {
    assert.equal(await scheme.send(app, scheme.previous, 1), 401, source)
  }
})

import assert from 'node:assert/strict'
import { test } from 'node:test'
import { sign } from '../../src/lib/signature.ts'
import { SECRET, build, message } from '../helper.ts'
import {
  PROVIDERS_ENV, PUBLIC_BASE_URL, SW_SECRET, TWILIO_TOKEN, WHATSAPP_SECRET, fixture, listMessages, postTwilio, postWhatsApp,
  scrape, standardWebhookHeaders, valueOf, twilioSignature, whatsappSignature
} from '../helpers/providers.ts'

test('one message by each of the four schemes: all listed by /messages and counted by /stats', async (t) => {
  const { app } = await build(t, PROVIDERS_ENV)

  const plain = JSON.stringify(message({ message_id: 'by-x-signature', from: '+919876543210', ts: '2025-01-15T10:00:00Z' }))
  const xSig = await app.inject({ method: 'POST', url: '/webhook', headers: { 'content-type': 'application/json', 'x-signature': sign(SECRET, plain) }, payload: plain })
  assert.equal(xSig.statusCode, 200, xSig.body)

  const standard = JSON.stringify(message({ message_id: 'by-standard-webhooks', from: '+919876543210', ts: '2025-01-15T11:00:00Z' }))
  const sw = await app.inject({
    method: 'POST', url: '/webhook', headers: { 'content-type': 'application/json', ...standardWebhookHeaders(SW_SECRET, 'msg_sw', new Date(), standard) }, payload: standard
  })
  assert.equal(sw.statusCode, 200)

  const whatsapp = fixture('whatsapp-text.json')
  assert.equal((await postWhatsApp(app, whatsapp, await whatsappSignature(WHATSAPP_SECRET, whatsapp))).statusCode, 200)

  const twilio = fixture('twilio-whatsapp.form')
  assert.equal((await postTwilio(app, twilio, twilioSignature(TWILIO_TOKEN, `${PUBLIC_BASE_URL}/webhooks/twilio`, twilio.toString()))).statusCode, 200)

  const { data, total } = await listMessages(app)
  assert.equal(total, 4)
  assert.deepEqual(data.map((m) => m.message_id).sort(), [
    'SMbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb', 'by-standard-webhooks', 'by-x-signature', 'wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQTRBNjU5OUFFRTAzODEwMTQ0RgA='
  ])
  const stats = (await app.inject('/stats')).json()
  assert.equal(stats.total_messages, 4)
  assert.equal(stats.senders_count, 3)
  assert.deepEqual(stats.messages_per_sender[0], { from: '+919876543210', count: 2 })
  assert.equal(stats.first_message_ts, '2025-01-15T10:00:00Z')
  assert.equal((await app.inject('/messages?from=%2B14017122661')).json().data[0].to, '+14155238886')

  const metrics = await scrape(app)
  assert.equal(valueOf(metrics, 'webhook_requests_total', { result: 'created' }), 2, 'POST /webhook only')
  assert.equal(valueOf(metrics, 'provider_deliveries_total', { source: 'whatsapp', result: 'stored' }), 1)
  assert.equal(valueOf(metrics, 'provider_deliveries_total', { source: 'twilio', result: 'stored' }), 1)
  for (const source of ['webhook', 'standard_webhooks', 'whatsapp', 'twilio']) {
    assert.equal(valueOf(metrics, 'signature_checks_total', { source, key: 'current' }), 1, source)
  }
  assert.equal(valueOf(metrics, 'http_requests_total', { method: 'POST', path: '/webhooks/twilio', status: '200' }), 1)
})

test('the rate limit of the webhook group covers the provider routes too', async (t) => {
  const { app } = await build(t, { ...PROVIDERS_ENV, RATE_LIMIT_WEBHOOK: '2/minute' })
  const form = fixture('twilio-sms.form')
  const signature = twilioSignature(TWILIO_TOKEN, `${PUBLIC_BASE_URL}/webhooks/twilio`, form.toString())
  assert.equal((await postTwilio(app, form, signature)).statusCode, 200)
  const whatsapp = fixture('whatsapp-status.json')
  assert.equal((await postWhatsApp(app, whatsapp, await whatsappSignature(WHATSAPP_SECRET, whatsapp))).statusCode, 200)
  const limited = await postTwilio(app, form, signature)
  assert.equal(limited.statusCode, 429)
  assert.ok(limited.headers['retry-after'])
  const metrics = await scrape(app)
  assert.equal(valueOf(metrics, 'provider_deliveries_total', { source: 'twilio', result: 'rejected' }), 1)
})

import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import { test } from 'node:test'
import { fileURLToPath } from 'node:url'
import { buildServer } from '../../scripts/build.ts'
import { sign } from '../../src/lib/signature.ts'
import { SECRET, message, tempDir } from '../helper.ts'
import { startServer } from '../helpers/server-process.ts'
import {
  PROVIDERS_ENV, SW_SECRET, TWILIO_TOKEN, WHATSAPP_SECRET, WHATSAPP_VERIFY_TOKEN, fixture, standardWebhookHeaders, twilioSignature,
  whatsappSignature
} from '../helpers/providers.ts'

// Contract §11 end to end: the production bundle, every §11 variable set, one signed delivery per
// scheme over a real socket, and what the operator sees (stdout log lines, /metrics).

const ROOT = fileURLToPath(new URL('../..', import.meta.url))

test('the built server with every §11 variable takes one signed delivery per scheme over a real socket', async (t) => {
  const dir = mkdtempSync(join(ROOT, '.build-test-'))
  t.after(() => rmSync(dir, { recursive: true, force: true }))
  await buildServer(dir)

  // Twilio signs the public URL, which behind a proxy is not the loopback address the server listens on.
  const publicBaseUrl = 'https://hooks.example.com/hookvault'
  const env = {
    WEBHOOK_SECRET: SECRET,
    DATABASE_URL: `sqlite:///${join(tempDir(t), 'app.db')}`,
    LOG_LEVEL: 'debug', // the most a log can say: still no secret, token or signature
    ...PROVIDERS_ENV,
    PUBLIC_BASE_URL: publicBaseUrl,
    WEBHOOK_SECRET_PREVIOUS: 'old-webhook-secret',
    STANDARD_WEBHOOKS_SECRET_PREVIOUS: 'whsec_' + Buffer.from('old standard key').toString('base64'),
    STANDARD_WEBHOOKS_TOLERANCE_S: '120',
    WHATSAPP_APP_SECRET_PREVIOUS: 'old-app-secret',
    TWILIO_AUTH_TOKEN_PREVIOUS: 'old-twilio-token',
    PROVIDER_BODY_LIMIT: '65536'
  }
  const server = await startServer(env, { args: [join(dir, 'server.js')] })
  t.after(() => server.kill())
  const post = (path: string, headers: Record<string, string>, body: string | Buffer) =>
    fetch(server.url + path, { method: 'POST', headers: { 'x-request-id': `e2e${path.replaceAll('/', '-')}`, ...headers }, body })

  const plain = JSON.stringify(message({ message_id: 'e2e-x-signature' }))
  assert.equal((await post('/webhook', { 'content-type': 'application/json', 'x-signature': sign('old-webhook-secret', plain) }, plain)).status, 200)

  const standard = JSON.stringify(message({ message_id: 'e2e-standard' }))
  const swHeaders = standardWebhookHeaders(SW_SECRET, 'msg_e2e', new Date(), standard)
  assert.equal((await post('/webhook', { 'content-type': 'application/json', ...swHeaders }, standard)).status, 200)

  const handshake = await fetch(`${server.url}/webhooks/whatsapp?hub.mode=subscribe&hub.verify_token=${WHATSAPP_VERIFY_TOKEN}&hub.challenge=42`)
  assert.equal(handshake.status, 200)
  assert.equal(await handshake.text(), '42')
  const whatsapp = fixture('whatsapp-text.json')
  const waSignature = await whatsappSignature(WHATSAPP_SECRET, whatsapp)
  const waResponse = await post('/webhooks/whatsapp', { 'content-type': 'application/json', 'x-hub-signature-256': waSignature }, whatsapp)
  assert.equal(waResponse.status, 200)
  assert.deepEqual(await waResponse.json(), { status: 'ok' })

  const twilio = fixture('twilio-sms.form')
  const twSignature = twilioSignature(TWILIO_TOKEN, `${publicBaseUrl}/webhooks/twilio`, twilio.toString())
  const twResponse = await post('/webhooks/twilio', { 'content-type': 'application/x-www-form-urlencoded', 'x-twilio-signature': twSignature }, twilio)
  assert.equal(twResponse.status, 200)
  assert.match(String(twResponse.headers.get('content-type')), /^text\/xml/)
  assert.equal(await twResponse.text(), '<?xml version="1.0" encoding="UTF-8"?><Response></Response>')

  const page = await (await fetch(`${server.url}/messages`)).json() as { data: Array<{ message_id: string }>, total: number }
  assert.equal(page.total, 4)
  assert.deepEqual(page.data.map((m) => m.message_id).sort(), [
    'SMaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa', 'e2e-standard', 'e2e-x-signature', 'wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQTRBNjU5OUFFRTAzODEwMTQ0RgA='
  ])
  assert.equal((await (await fetch(`${server.url}/stats`)).json() as { total_messages: number }).total_messages, 4)

  const metrics = await (await fetch(`${server.url}/metrics`)).text()
  assert.match(metrics, /^signature_checks_total\{source="webhook",key="previous"\} 1$/m)
  assert.match(metrics, /^signature_checks_total\{source="standard_webhooks",key="current"\} 1$/m)
  assert.match(metrics, /^provider_deliveries_total\{source="whatsapp",result="stored"\} 1$/m)
  assert.match(metrics, /^provider_messages_total\{source="twilio",result="created"\} 1$/m)

  // One JSON line per request; the deliveries say their source and how many messages were new.
  const lines = server.stdout.filter((line) => line.trim() !== '').map((line) => JSON.parse(line) as Record<string, unknown>)
  const lineOf = (id: string) => lines.find((line) => line.request_id === id)
  assert.deepEqual([lineOf('e2e-webhooks-whatsapp')?.source, lineOf('e2e-webhooks-whatsapp')?.messages], ['whatsapp', 1])
  assert.deepEqual([lineOf('e2e-webhooks-twilio')?.source, lineOf('e2e-webhooks-twilio')?.messages], ['twilio', 1])
  assert.equal(lineOf('e2e-webhook')?.status, 200)
  const stdout = server.stdout.join('\n')
  for (const secret of [SECRET, 'old-webhook-secret', SW_SECRET, WHATSAPP_SECRET, WHATSAPP_VERIFY_TOKEN, waSignature, twSignature, swHeaders['webhook-signature']!]) {
    assert.ok(!stdout.includes(secret), `stdout carries ${secret.slice(0, 12)}…`)
  }
})

test('a refused §11 variable stops the start with one JSON line naming it, never the secret', async () => {
  const server = await startServer({ WEBHOOK_SECRET: SECRET, TWILIO_AUTH_TOKEN: TWILIO_TOKEN, PUBLIC_BASE_URL: 'https://x.example', TWILIO_AUTH_TOKEN_PREVIOUS: 'old-token-1,,old-token-2' }, { waitReady: false })
  assert.notEqual(await server.exited, 0)
  const lines = server.stdout.filter((line) => line.trim() !== '')
  assert.equal(lines.length, 1, lines.join('\n'))
  const line = JSON.parse(lines[0]!)
  assert.equal(line.variable, 'TWILIO_AUTH_TOKEN_PREVIOUS')
  assert.match(line.msg, /TWILIO_AUTH_TOKEN_PREVIOUS has an empty item/)
  assert.ok(!lines[0]!.includes('old-token-1') && !lines[0]!.includes(TWILIO_TOKEN))
})

import assert from 'node:assert/strict'
import { test } from 'node:test'
import { Webhook } from 'standardwebhooks'
import { decodeSecret, verifyStandardWebhook } from '../../src/providers/standard-webhooks.ts'
import { SECRET, build, message } from '../helper.ts'
import { sign } from '../../src/lib/signature.ts'
import { SW_SECRET, listMessages, scrape, standardWebhookHeaders, valueOf, vectors } from '../helpers/providers.ts'

const ENV = { STANDARD_WEBHOOKS_SECRET: SW_SECRET }
const OTHER_SECRET = 'whsec_' + Buffer.from('another key of 24 bytes!').toString('base64')

function post (app: Awaited<ReturnType<typeof build>>['app'], payload: string, headers: Record<string, string>) {
  return app.inject({ method: 'POST', url: '/webhook', headers: { 'content-type': 'application/json', ...headers }, payload })
}

test('the Standard Webhooks vectors: the reference library signs them, and they verify at their own time only', () => {
  const sw = vectors.filter((v) => v.provider === 'standard-webhooks')
  assert.equal(sw.length, 2)
  for (const vector of sw) {
    const at = new Date(vector.timestamp! * 1000)
    assert.equal(new Webhook(vector.secret!).sign(vector.msg_id!, at, vector.payload!), vector.expected_signature, vector.id)
    const keys = { current: decodeSecret(vector.secret!)!, previous: [] }
    const headers = { id: vector.msg_id, timestamp: String(vector.timestamp), signature: vector.expected_signature }
    const body = Buffer.from(vector.payload!)
    assert.equal(verifyStandardWebhook(keys, headers, body, vector.timestamp!, 300), 'current', vector.id)
    assert.equal(verifyStandardWebhook(keys, headers, body, vector.timestamp! + 301, 300), 'none', `${vector.id} expired`)
    assert.equal(verifyStandardWebhook(keys, headers, body, vector.timestamp! - 301, 300), 'none', `${vector.id} from the future`)
    assert.equal(verifyStandardWebhook(keys, headers, Buffer.from(vector.payload! + ' '), vector.timestamp!, 300), 'none', `${vector.id} other bytes`)
  }
})

test('decodeSecret: whsec_ and canonical base64 only', () => {
  assert.deepEqual(decodeSecret('whsec_' + Buffer.from('key').toString('base64')), Buffer.from('key'))
  assert.deepEqual(decodeSecret('whsec_a2V5'), Buffer.from('key'))
  for (const bad of ['MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw', 'whsec_', 'whsec_not base64!', 'whsec_a2V5===', 'whsec_a2V=', 'WHSEC_a2V5']) {
    assert.equal(decodeSecret(bad), null, bad)
  }
})

test('the fixed message vector is accepted by POST /webhook (a tolerance wide enough for its 2021 timestamp)', async (t) => {
  const vector = vectors.find((v) => v.id === 'stdwh-self-message-model')!
  const { app } = await build(t, { STANDARD_WEBHOOKS_SECRET: vector.secret!, STANDARD_WEBHOOKS_TOLERANCE_S: '999999999' })
  const response = await post(app, vector.payload!, {
    'webhook-id': vector.msg_id!, 'webhook-timestamp': String(vector.timestamp), 'webhook-signature': vector.expected_signature!
  })
  assert.equal(response.statusCode, 200)
  assert.equal((await listMessages(app)).data[0]!.message_id, JSON.parse(vector.payload!).message_id)
})

test('a delivery signed by the standardwebhooks library is stored, counted like any POST /webhook, and logged as one', async (t) => {
  const { app, logs } = await build(t, { ...ENV, LOG_LEVEL: 'info' })
  const payload = JSON.stringify(message({ message_id: 'sw-1' }))
  const headers = standardWebhookHeaders(SW_SECRET, 'msg_1', new Date(), payload)
  const response = await post(app, payload, { ...headers, 'x-request-id': 'sw-ok' })
  assert.equal(response.statusCode, 200)
  assert.deepEqual(response.json(), { status: 'ok' })
  assert.equal((await post(app, payload, headers)).statusCode, 200) // a redelivery: duplicate
  assert.deepEqual((await listMessages(app)).data.map((m) => m.message_id), ['sw-1'])
  const metrics = await scrape(app)
  assert.equal(valueOf(metrics, 'webhook_requests_total', { result: 'created' }), 1)
  assert.equal(valueOf(metrics, 'webhook_requests_total', { result: 'duplicate' }), 1)
  assert.equal(valueOf(metrics, 'signature_checks_total', { source: 'standard_webhooks', key: 'current' }), 2)
  assert.equal(valueOf(metrics, 'signature_checks_total', { source: 'webhook', key: 'current' }), 0)
  const line = logs.find((entry) => entry.request_id === 'sw-ok')!
  assert.deepEqual([line.message_id, line.dup, line.result], ['sw-1', false, 'created'])
  assert.ok(!JSON.stringify(logs).includes(headers['webhook-signature']!.slice(3)), 'no signature in the logs')
})

test('401: expired and future timestamps, a v2-only header, missing headers, another secret, other bytes', async (t) => {
  const { app } = await build(t, ENV)
  const payload = JSON.stringify(message({ message_id: 'sw-bad' }))
  const now = Date.now()
  const signed = (at: Date, secret = SW_SECRET) => standardWebhookHeaders(secret, 'msg_bad', at, payload)
  const good = signed(new Date(now))
  const cases: Array<[Record<string, string>, string]> = [
    [signed(new Date(now - 301_000)), 'timestamp 301 s old'],
    [signed(new Date(now + 301_000)), 'timestamp 301 s ahead'],
    [{ ...good, 'webhook-signature': good['webhook-signature']!.replace(/^v1,/, 'v2,') }, 'only a v2 entry'],
    [{ ...good, 'webhook-signature': good['webhook-signature']!.replace(/^v1,/, 'v1a,') }, 'only an unknown version'],
    [{ ...good, 'webhook-id': 'msg_other' }, 'another id than the one signed'],
    [{ ...good, 'webhook-timestamp': `${good['webhook-timestamp']}.0` }, 'a timestamp that is not whole seconds'],
    [{ 'webhook-timestamp': good['webhook-timestamp']!, 'webhook-signature': good['webhook-signature']! }, 'no webhook-id'],
    [{ 'webhook-id': 'msg_bad', 'webhook-signature': good['webhook-signature']! }, 'no webhook-timestamp'],
    [signed(new Date(now), OTHER_SECRET), 'another secret'],
    [{ ...good, 'webhook-signature': '' }, 'empty signature']
  ]
  for (const [headers, label] of cases) {
    const response = await post(app, payload, headers)
    assert.equal(response.statusCode, 401, label)
    assert.deepEqual(response.json(), { detail: 'invalid signature' }, label)
  }
  const altered = await post(app, payload.replace('Hello', 'Hellp'), good)
  assert.equal(altered.statusCode, 401, 'other bytes than signed')
  assert.equal((await listMessages(app)).total, 0)
  const metrics = await scrape(app)
  assert.equal(valueOf(metrics, 'webhook_requests_total', { result: 'invalid_signature' }), cases.length + 1)
  assert.equal(valueOf(metrics, 'signature_checks_total', { source: 'standard_webhooks', key: 'none' }), cases.length + 1)
})

test('within the tolerance either way, several entries, other versions beside v1: accepted', async (t) => {
  const { app } = await build(t, { ...ENV, STANDARD_WEBHOOKS_TOLERANCE_S: '60' })
  const now = Date.now()
  const send = (id: string, at: Date, signature?: (v1: string) => string) => {
    const payload = JSON.stringify(message({ message_id: id }))
    const headers = standardWebhookHeaders(SW_SECRET, id, at, payload)
    if (signature !== undefined) headers['webhook-signature'] = signature(headers['webhook-signature']!)
    return post(app, payload, headers)
  }
  assert.equal((await send('past', new Date(now - 55_000))).statusCode, 200)
  assert.equal((await send('ahead', new Date(now + 55_000))).statusCode, 200)
  assert.equal((await send('too-old', new Date(now - 65_000))).statusCode, 401, 'STANDARD_WEBHOOKS_TOLERANCE_S=60 applies')
  assert.equal((await send('rotating', new Date(now), (v1) => `v1,${Buffer.alloc(32).toString('base64')} ${v1}`)).statusCode, 200)
  assert.equal((await send('mixed', new Date(now), (v1) => `v2,abc ${v1} v1a,xyz`)).statusCode, 200)
})

test('the rest of POST /webhook is unchanged: X-Signature decides when present, 413 → 401 → 415 → 422 order', async (t) => {
  const { app } = await build(t, { ...ENV, BODY_LIMIT: '300' })
  const payload = JSON.stringify(message({ message_id: 'sw-order' }))
  const headers = standardWebhookHeaders(SW_SECRET, 'msg_order', new Date(), payload)
  assert.equal((await post(app, payload, { ...headers, 'x-signature': 'f'.repeat(64) })).statusCode, 401, 'a wrong X-Signature is not rescued')
  assert.equal((await post(app, payload, { ...headers, 'x-signature': sign(SECRET, payload) })).statusCode, 200, 'X-Signature alone decides')

  const big = JSON.stringify(message({ message_id: 'sw-big', text: 'x'.repeat(400) }))
  assert.equal((await post(app, big, standardWebhookHeaders(SW_SECRET, 'msg_big', new Date(), big))).statusCode, 413)

  const plain = await app.inject({
    method: 'POST', url: '/webhook', headers: { 'content-type': 'text/plain', ...standardWebhookHeaders(SW_SECRET, 'm', new Date(), payload) }, payload
  })
  assert.equal(plain.statusCode, 415)

  const invalid = JSON.stringify(message({ message_id: 'sw-422', from: '919876543210' }))
  const response = await post(app, invalid, standardWebhookHeaders(SW_SECRET, 'msg_422', new Date(), invalid))
  assert.equal(response.statusCode, 422)
  assert.deepEqual(response.json().detail.map((issue: { loc: unknown }) => issue.loc), [['body', 'from']])
})

test('without STANDARD_WEBHOOKS_SECRET, webhook-signature is not a signature: 401', async (t) => {
  const { app } = await build(t)
  const payload = JSON.stringify(message())
  const response = await post(app, payload, standardWebhookHeaders(SW_SECRET, 'msg_1', new Date(), payload))
  assert.equal(response.statusCode, 401)
  const document = (await app.inject('/docs/json')).json()
  const parameters = document.paths['/webhook'].post.parameters as Array<{ name: string, required?: boolean }>
  assert.ok(!parameters.some((p) => p.name === 'webhook-signature'))
})

test('with it, the OpenAPI document shows both ways to sign, neither required alone', async (t) => {
  const { app } = await build(t, ENV)
  const document = (await app.inject('/docs/json')).json()
  const parameters = document.paths['/webhook'].post.parameters as Array<{ name: string, required?: boolean }>
  for (const name of ['X-Signature', 'webhook-id', 'webhook-timestamp', 'webhook-signature']) {
    const parameter = parameters.find((p) => p.name === name)
    assert.ok(parameter, name)
    assert.notEqual(parameter.required, true, name)
  }
})

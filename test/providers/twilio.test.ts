import assert from 'node:assert/strict'
import { test } from 'node:test'
import { baseUrlVariants, parseForm, parsePublicBaseUrl, verifyTwilio } from '../../src/providers/twilio.ts'
import { build } from '../helper.ts'
import { PUBLIC_BASE_URL, TWILIO_TOKEN, fixture, listMessages, postTwilio, scrape, twilioSignature, valueOf, vectors, type Vector } from '../helpers/providers.ts'

const ENV = { TWILIO_AUTH_TOKEN: TWILIO_TOKEN, PUBLIC_BASE_URL }
const TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response></Response>'
const SMS = fixture('twilio-sms.form')
const ROUTE_URL = `${PUBLIC_BASE_URL}/webhooks/twilio`

/** A vector's parameters as name → value (its params, or its form file with overrides). */
function paramsOf (vector: Vector): Record<string, string> {
  if (vector.params !== undefined) return vector.params
  if (vector.params_file === undefined) return {}
  return { ...Object.fromEntries(new URLSearchParams(fixture(vector.params_file).toString('utf8'))), ...vector.params_override }
}

/** The vectors whose signature twilio-node computed over the URL with :443 added. */
const SIGNED_WITH_PORT = new Set(['twilio-port-443', 'twilio-json-empty-body'])

test('every Twilio vector of vectors.json: the test signer reproduces it, and verifyTwilio accepts it', () => {
  const twilio = vectors.filter((v) => v.provider === 'twilio')
  assert.ok(twilio.length >= 13)
  for (const vector of twilio) {
    const params = paramsOf(vector)
    const signedUrl = SIGNED_WITH_PORT.has(vector.id) ? vector.url!.replace('.com/', '.com:443/') : vector.url!
    assert.equal(twilioSignature(vector.auth_token!, signedUrl, params), vector.expected_signature, vector.id)
    const [, base, rest] = /^(https?:\/\/[^/]+)(.*)$/.exec(vector.url!)!
    const urls = baseUrlVariants(base!).map((variant) => variant + rest!)
    const form = new Map(Object.entries(params).map(([name, value]) => [name, [value]]))
    assert.equal(verifyTwilio({ current: vector.auth_token!, previous: [] }, urls, form, vector.expected_signature), 'current', vector.id)
    assert.equal(verifyTwilio({ current: 'wrong', previous: [vector.auth_token!] }, urls, form, vector.expected_signature), 'previous', vector.id)
    assert.equal(verifyTwilio({ current: vector.auth_token!, previous: [] }, [vector.url!.replace(/:\/\/[^/]+/, '://attacker.example')], form, vector.expected_signature), 'none', vector.id)
  }
})

test('PUBLIC_BASE_URL shapes, and the default-port variants twilio-node also accepts', () => {
  assert.equal(parsePublicBaseUrl('https://example.com/'), 'https://example.com')
  assert.equal(parsePublicBaseUrl('http://10.0.0.1:8080/hooks'), 'http://10.0.0.1:8080/hooks')
  assert.equal(parsePublicBaseUrl('https://[::1]:8443'), 'https://[::1]:8443')
  for (const bad of ['example.com', 'ftp://example.com', 'https://example.com?x=1', 'https://example.com/#f', 'https://u:p@example.com', 'https://example.com:99999', 'https://']) {
    assert.equal(parsePublicBaseUrl(bad), null, bad)
  }
  assert.deepEqual(baseUrlVariants('https://example.com/p'), ['https://example.com/p', 'https://example.com:443/p'])
  assert.deepEqual(baseUrlVariants('http://example.com:80'), ['http://example.com:80', 'http://example.com'])
  assert.deepEqual(baseUrlVariants('http://example.com:8080'), ['http://example.com:8080'])
})

test('repeated names: URLSearchParams decoding, every value kept in order', () => {
  const form = parseForm(Buffer.from('a=1&b=x+y%21&a=2&c=&d'))
  assert.deepEqual([...form], [['a', ['1', '2']], ['b', ['x y!']], ['c', ['']], ['d', ['']]])
})

test('without TWILIO_AUTH_TOKEN the route does not exist; other methods get 405 with Allow', async (t) => {
  const off = await build(t)
  assert.equal((await postTwilio(off.app, SMS, 'x')).statusCode, 404)
  const { app } = await build(t, ENV)
  const response = await app.inject({ method: 'GET', url: '/webhooks/twilio' })
  assert.equal(response.statusCode, 405)
  assert.equal(response.headers.allow, 'POST')
  assert.deepEqual(response.json(), { detail: 'method not allowed' })
})

test('the self-generated vectors are accepted verbatim: TwiML answer, mapped message, receipt time', async (t) => {
  const { app } = await build(t, ENV)
  for (const id of ['twilio-self-sms', 'twilio-self-whatsapp', 'twilio-self-botbuilder']) {
    const vector = vectors.find((v) => v.id === id)!
    assert.equal(vector.url, ROUTE_URL)
    const before = Date.now()
    const response = await postTwilio(app, fixture(vector.params_file!), vector.expected_signature)
    assert.equal(response.statusCode, 200, id)
    assert.equal(response.body, TWIML)
    assert.match(String(response.headers['content-type']), /^text\/xml/)
    const stored = (await listMessages(app)).data.find((m) => m.message_id === paramsOf(vector).MessageSid)!
    assert.match(stored.ts, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/)
    assert.ok(Date.parse(stored.ts) >= before - 1 && Date.parse(stored.ts) <= Date.now() + 1, stored.ts)
  }
  const byId = Object.fromEntries((await listMessages(app)).data.map(({ message_id: id, from, to, text }) => [id, { from, to, text }]))
  assert.deepEqual(byId, {
    SMaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa: { from: '+15017122661', to: '+15558675310', text: 'Ahoy' },
    SMbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb: { from: '+14017122661', to: '+14155238886', text: 'Ahoy! Let\'s build something amazing.' },
    SMc56324aa4a31735561b7205472192d68: { from: '+541138050810', to: '+16693421974', text: 'Hello' }
  })
})

test('401: a signature over the server\'s own URL instead of the public one, another token, another query, none', async (t) => {
  const { app } = await build(t, ENV)
  const cases: Array<[string | undefined, string, string?]> = [
    [twilioSignature(TWILIO_TOKEN, 'http://localhost:80/webhooks/twilio', SMS.toString()), 'the URL the server sees'],
    [twilioSignature(TWILIO_TOKEN, 'http://localhost/webhooks/twilio', SMS.toString()), 'the URL the server sees, no port'],
    [twilioSignature(TWILIO_TOKEN, 'http://example.com/webhooks/twilio', SMS.toString()), 'another scheme'],
    [twilioSignature('67890', ROUTE_URL, SMS.toString()), 'another token'],
    [twilioSignature(TWILIO_TOKEN, ROUTE_URL, SMS.toString()), 'a query the signature does not cover', '/webhooks/twilio?x=1'],
    [twilioSignature(TWILIO_TOKEN, ROUTE_URL, `${SMS.toString()}&Extra=1`), 'other parameters'],
    ['', 'empty'],
    [undefined, 'missing']
  ]
  for (const [signature, label, url] of cases) {
    const response = await postTwilio(app, SMS, signature, url === undefined ? {} : { url })
    assert.equal(response.statusCode, 401, label)
    assert.deepEqual(response.json(), { detail: 'invalid signature' }, label)
  }
  assert.equal((await postTwilio(app, 'not a form', undefined, { headers: { 'content-type': 'application/json' } })).statusCode, 401, '401 before 415')
  assert.equal((await listMessages(app)).total, 0)
  const metrics = await scrape(app)
  assert.equal(valueOf(metrics, 'provider_deliveries_total', { source: 'twilio', result: 'invalid_signature' }), cases.length + 1)
  assert.equal(valueOf(metrics, 'signature_checks_total', { source: 'twilio', key: 'none' }), cases.length + 1)
})

test('the signed URL: the query as received, a prefix, and the default port added or removed', async (t) => {
  const withQuery = await build(t, ENV)
  const url = '/webhooks/twilio?account=a%20b&x=1'
  assert.equal((await postTwilio(withQuery.app, SMS, twilioSignature(TWILIO_TOKEN, `${PUBLIC_BASE_URL}${url}`, SMS.toString()), { url })).statusCode, 200)
  const port = await build(t, ENV)
  assert.equal((await postTwilio(port.app, SMS, twilioSignature(TWILIO_TOKEN, 'https://example.com:443/webhooks/twilio', SMS.toString()))).statusCode, 200)
  const configuredWithPort = await build(t, { ...ENV, PUBLIC_BASE_URL: 'https://example.com:443' })
  assert.equal((await postTwilio(configuredWithPort.app, SMS, twilioSignature(TWILIO_TOKEN, ROUTE_URL, SMS.toString()))).statusCode, 200)
  const prefix = await build(t, { ...ENV, PUBLIC_BASE_URL: 'https://example.com/hooks/' })
  assert.equal((await postTwilio(prefix.app, SMS, twilioSignature(TWILIO_TOKEN, 'https://example.com/hooks/webhooks/twilio', SMS.toString()))).statusCode, 200)
  const otherPort = await build(t, { ...ENV, PUBLIC_BASE_URL: 'http://example.com:8080' })
  assert.equal((await postTwilio(otherPort.app, SMS, twilioSignature(TWILIO_TOKEN, 'http://example.com/webhooks/twilio', SMS.toString()))).statusCode, 401,
    'a non-default port is part of the URL')
})

test('413 over PROVIDER_BODY_LIMIT; 415 for a signed body that is not a form', async (t) => {
  const small = await build(t, { ...ENV, PROVIDER_BODY_LIMIT: '100' })
  const tooBig = await postTwilio(small.app, SMS, undefined)
  assert.equal(tooBig.statusCode, 413)
  assert.deepEqual(tooBig.json(), { detail: 'payload too large' })
  const { app } = await build(t, ENV)
  const signature = twilioSignature(TWILIO_TOKEN, ROUTE_URL, SMS.toString())
  for (const contentType of ['application/json', 'text/plain', 'multipart/form-data; boundary=x', '']) {
    const response = await postTwilio(app, SMS, signature, { headers: { 'content-type': contentType } })
    assert.equal(response.statusCode, 415, contentType)
    assert.deepEqual(response.json(), { detail: 'unsupported media type' })
  }
  assert.equal((await postTwilio(app, SMS, signature, { headers: { 'content-type': 'application/x-www-form-urlencoded; charset=utf-8' } })).statusCode, 200)
})

test('422: MessageSid, From/To and Body rules, repeated read parameters; nothing stored', async (t) => {
  const { app } = await build(t, ENV)
  const form = (changes: Record<string, string | null>, extra = '') => {
    const params = new URLSearchParams(SMS.toString())
    for (const [name, value] of Object.entries(changes)) {
      if (value === null) params.delete(name)
      else params.set(name, value)
    }
    return params.toString() + extra
  }
  const cases: Array<[string, string]> = [
    [form({ MessageSid: '' }), 'MessageSid'],
    [form({ MessageSid: null }), 'MessageSid'],
    [form({ From: '15017122661' }), 'From'],
    [form({ From: 'whatsapp:15017122661' }), 'From'],
    [form({ To: 'sms:+15558675310' }), 'To'],
    [form({ To: null }), 'To'],
    [form({ Body: '😀'.repeat(4097) }), 'Body'],
    [form({}, '&From=%2B19999999999'), 'From']
  ]
  for (const [body, field] of cases) {
    const response = await postTwilio(app, body, twilioSignature(TWILIO_TOKEN, ROUTE_URL, body))
    assert.equal(response.statusCode, 422, `${field}: ${body.slice(0, 80)}`)
    assert.deepEqual(response.json().detail.map((issue: { loc: unknown }) => issue.loc), [['body', field]])
  }
  assert.equal((await listMessages(app)).total, 0)
  const longest = form({ Body: '😀'.repeat(4096), MessageSid: 'SMlongest' })
  assert.equal((await postTwilio(app, longest, twilioSignature(TWILIO_TOKEN, ROUTE_URL, longest))).statusCode, 200, '4096 code points pass')
  const noBody = form({ Body: null, MessageSid: 'SMnobody' }, '&MediaUrl0=a&MediaUrl0=b')
  assert.equal((await postTwilio(app, noBody, twilioSignature(TWILIO_TOKEN, ROUTE_URL, noBody))).statusCode, 200, 'other repeated names are fine')
  const texts = Object.fromEntries((await listMessages(app)).data.map((m) => [m.message_id, m.text?.length ?? null]))
  assert.deepEqual(texts, { SMlongest: 8192, SMnobody: null })
})

test('redelivery keeps the first message and its receipt time; logs carry source and messages, never the token', async (t) => {
  const { app, logs } = await build(t, { ...ENV, LOG_LEVEL: 'info' })
  const signature = twilioSignature(TWILIO_TOKEN, ROUTE_URL, SMS.toString())
  assert.equal((await postTwilio(app, SMS, signature, { headers: { 'x-request-id': 'tw-1' } })).statusCode, 200)
  const first = (await listMessages(app)).data[0]!
  await new Promise((resolve) => setTimeout(resolve, 5))
  const again = await postTwilio(app, SMS, signature, { headers: { 'x-request-id': 'tw-2' } })
  assert.equal(again.statusCode, 200)
  assert.equal(again.body, TWIML)
  assert.deepEqual((await listMessages(app)).data, [first])
  const [one, two] = ['tw-1', 'tw-2'].map((id) => logs.find((entry) => entry.request_id === id)!)
  assert.deepEqual([one!.source, one!.messages, one!.result], ['twilio', 1, 'stored'])
  assert.deepEqual([two!.source, two!.messages, two!.result], ['twilio', 0, 'duplicate'])
  const refused = await postTwilio(app, SMS, 'bm90IGEgc2lnbmF0dXJl', { headers: { 'x-request-id': 'tw-401' } })
  assert.equal(refused.statusCode, 401)
  const line401 = logs.find((entry) => entry.request_id === 'tw-401')!
  assert.deepEqual([line401.level, line401.result, line401.source], ['error', 'invalid_signature', 'twilio'])
  const text = JSON.stringify(logs)
  assert.ok(!text.includes('bm90IGEgc2lnbmF0dXJl'), 'not even a wrong signature is logged')
  assert.ok(!text.includes(signature) && !text.includes(`"${TWILIO_TOKEN}"`), 'no token or signature in the logs')
  const metrics = await scrape(app)
  assert.equal(valueOf(metrics, 'provider_messages_total', { source: 'twilio', result: 'created' }), 1)
  assert.equal(valueOf(metrics, 'provider_messages_total', { source: 'twilio', result: 'duplicate' }), 1)
})

import assert from 'node:assert/strict'
import { test } from 'node:test'
import { validate, compileErrors } from '@readme/openapi-parser'
import { verifyMetaSignature } from '../../src/providers/whatsapp.ts'
import { StoreUnavailableError } from '../../src/store/errors.ts'
import { build } from '../helper.ts'
import {
  PROVIDERS_ENV, WHATSAPP_SECRET, WHATSAPP_VERIFY_TOKEN, fixture, listMessages, postWhatsApp, scrape, valueOf, vectors, whatsappSignature
} from '../helpers/providers.ts'

const ENV = { WHATSAPP_APP_SECRET: WHATSAPP_SECRET, WHATSAPP_VERIFY_TOKEN }
const TEXT = fixture('whatsapp-text.json')
const TEXT_ID = 'wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQTRBNjU5OUFFRTAzODEwMTQ0RgA='

/** The derived two-message delivery with both messages in one change, the second altered by `change`. */
function twoMessagesInOneChange (change: (second: Record<string, unknown>) => void): string {
  const delivery = JSON.parse(fixture('whatsapp-two-messages.derived.json').toString('utf8'))
  const [first, second] = delivery.entry[0].changes
  first.value.messages.push(second.value.messages[0])
  delivery.entry[0].changes = [first]
  change(first.value.messages[1])
  return JSON.stringify(delivery)
}

test('X-Hub-Signature-256: the vectors of vectors.json, signed by @octokit/webhooks-methods, verify over the raw bytes', async () => {
  const meta = vectors.filter((v) => v.provider === 'meta-whatsapp')
  assert.ok(meta.length >= 5)
  for (const vector of meta) {
    const body = vector.body_file === undefined ? Buffer.from(vector.body!) : fixture(vector.body_file)
    const header = vector.expected_header ?? `sha256=${(vector as { expected_hex?: string }).expected_hex}`
    assert.equal(await whatsappSignature(vector.app_secret!, body), header, vector.id)
    assert.equal(verifyMetaSignature({ current: vector.app_secret!, previous: [] }, body, header), 'current', vector.id)
    assert.equal(verifyMetaSignature({ current: 'other', previous: [vector.app_secret!] }, body, header), 'previous', vector.id)
  }
})

test('without WHATSAPP_APP_SECRET the WhatsApp routes do not exist: 404, and no docs', async (t) => {
  const { app } = await build(t)
  for (const method of ['GET', 'POST'] as const) {
    const response = await app.inject({ method, url: '/webhooks/whatsapp' })
    assert.equal(response.statusCode, 404)
    assert.deepEqual(response.json(), { detail: 'not found' })
  }
  const document = (await app.inject('/docs/json')).json()
  assert.equal(document.paths['/webhooks/whatsapp'], undefined)
})

test('handshake: the challenge comes back as text/plain only for subscribe with the right token; otherwise 403', async (t) => {
  const { app } = await build(t, ENV)
  const ok = await app.inject(`/webhooks/whatsapp?hub.mode=subscribe&hub.verify_token=${WHATSAPP_VERIFY_TOKEN}&hub.challenge=1158201444`)
  assert.equal(ok.statusCode, 200)
  assert.match(String(ok.headers['content-type']), /^text\/plain/)
  assert.equal(ok.body, '1158201444')
  for (const query of [
    'hub.mode=subscribe&hub.verify_token=wrong&hub.challenge=1',
    `hub.mode=unsubscribe&hub.verify_token=${WHATSAPP_VERIFY_TOKEN}&hub.challenge=1`,
    `hub.verify_token=${WHATSAPP_VERIFY_TOKEN}&hub.challenge=1`,
    'hub.mode=subscribe&hub.challenge=1',
    `hub.mode=subscribe&hub.verify_token=${WHATSAPP_VERIFY_TOKEN}`,
    `hub.mode=subscribe&hub.verify_token=${WHATSAPP_VERIFY_TOKEN}&hub.verify_token=x&hub.challenge=1`,
    ''
  ]) {
    const response = await app.inject(`/webhooks/whatsapp?${query}`)
    assert.equal(response.statusCode, 403, query)
    assert.deepEqual(response.json(), { detail: 'forbidden' }, query)
  }
})

test('other methods: 405 with Allow', async (t) => {
  const { app } = await build(t, ENV)
  const response = await app.inject({ method: 'PUT', url: '/webhooks/whatsapp' })
  assert.equal(response.statusCode, 405)
  assert.deepEqual(response.json(), { detail: 'method not allowed' })
  assert.deepEqual(String(response.headers.allow).split(', ').sort(), ['GET', 'HEAD', 'POST'])
})

test('401 for a signature without sha256=, a wrong secret, or none; before 415 and 422', async (t) => {
  const { app } = await build(t, ENV)
  const good = await whatsappSignature(WHATSAPP_SECRET, TEXT)
  const cases: Array<[string | undefined, string]> = [
    [good.slice('sha256='.length), 'bare hex, no sha256='],
    [good.replace('sha256=', 'sha1='), 'another algorithm'],
    [await whatsappSignature('another-app-secret', TEXT), 'another secret'],
    ['sha256=', 'empty digest'],
    [undefined, 'no header']
  ]
  for (const [signature, label] of cases) {
    const response = await postWhatsApp(app, TEXT, signature)
    assert.equal(response.statusCode, 401, label)
    assert.deepEqual(response.json(), { detail: 'invalid signature' }, label)
  }
  // Not JSON and unsigned: the signature decides first.
  assert.equal((await postWhatsApp(app, 'not json', undefined, { 'content-type': 'text/plain' })).statusCode, 401)
  // Signed over other bytes (the body re-serialised): Meta's raw bytes are what count.
  const reserialised = JSON.stringify(JSON.parse(TEXT.toString('utf8')))
  assert.equal((await postWhatsApp(app, reserialised, good)).statusCode, 401)
  assert.equal((await listMessages(app)).total, 0)
  const metrics = await scrape(app)
  assert.equal(valueOf(metrics, 'provider_deliveries_total', { source: 'whatsapp', result: 'invalid_signature' }), 7)
  assert.equal(valueOf(metrics, 'signature_checks_total', { source: 'whatsapp', key: 'none' }), 7)
})

test('413 over PROVIDER_BODY_LIMIT, before the signature is looked at', async (t) => {
  const { app } = await build(t, { ...ENV, PROVIDER_BODY_LIMIT: '900' })
  const response = await postWhatsApp(app, TEXT, undefined) // 984 bytes
  assert.equal(response.statusCode, 413)
  assert.deepEqual(response.json(), { detail: 'payload too large' })
  const metrics = await scrape(app)
  assert.equal(valueOf(metrics, 'provider_deliveries_total', { source: 'whatsapp', result: 'payload_too_large' }), 1)
})

test('415 for a signed body that is not declared JSON', async (t) => {
  const { app } = await build(t, ENV)
  const signature = await whatsappSignature(WHATSAPP_SECRET, TEXT)
  for (const contentType of ['text/plain', 'application/x-www-form-urlencoded', undefined]) {
    const headers = contentType === undefined ? { 'content-type': '' } : { 'content-type': contentType }
    const response = await postWhatsApp(app, TEXT, signature, headers)
    assert.equal(response.statusCode, 415, String(contentType))
    assert.deepEqual(response.json(), { detail: 'unsupported media type' })
  }
})

test('422: not JSON, not a WhatsApp delivery, or a message that does not map; loc points into the body', async (t) => {
  const { app } = await build(t, ENV)
  const post = async (body: string) => postWhatsApp(app, body, await whatsappSignature(WHATSAPP_SECRET, body))

  const notJson = await post('{"object":')
  assert.equal(notJson.statusCode, 422)
  assert.deepEqual(notJson.json().detail[0].loc, ['body'])

  const wrongObject = await post('{"object":"page","entry":[]}')
  assert.equal(wrongObject.statusCode, 422)
  assert.deepEqual(wrongObject.json().detail.map((issue: { loc: unknown }) => issue.loc), [['body', 'object']])

  const noEntry = await post('{"object":"whatsapp_business_account","entry":{}}')
  assert.equal(noEntry.statusCode, 422)
  assert.deepEqual(noEntry.json().detail[0].loc, ['body', 'entry'])

  for (const body of ['[]', '"whatsapp_business_account"', 'null']) {
    assert.equal((await post(body)).statusCode, 422, body)
  }

  // netflie's verbatim two-message fixture: placeholders instead of numbers, in both changes.
  const placeholders = fixture('whatsapp-two-messages.json')
  const response = await postWhatsApp(app, placeholders, await whatsappSignature(WHATSAPP_SECRET, placeholders))
  assert.equal(response.statusCode, 422)
  const locs = response.json().detail.map((issue: { loc: unknown[] }) => issue.loc.join('.'))
  assert.ok(locs.includes('body.entry.0.changes.0.value.messages.0.from'), locs.join(' '))
  assert.ok(locs.includes('body.entry.0.changes.1.value.messages.0.from'), locs.join(' '))
  assert.ok(locs.includes('body.entry.0.changes.0.value.metadata.display_phone_number'), locs.join(' '))
  assert.equal((await listMessages(app)).total, 0)
})

test('a two-message delivery whose second message does not map stores nothing, not even the first', async (t) => {
  const { app } = await build(t, ENV)
  const cases: Array<[(second: Record<string, unknown>) => void, string[], string, unknown]> = [
    [(m) => { m.from = '+16505551234' }, ['from'], 'string_pattern_mismatch', '+16505551234'],
    [(m) => { delete m.from }, ['from'], 'missing', undefined],
    [(m) => { m.timestamp = '2022-11-23T20:02:59Z' }, ['timestamp'], 'string_pattern_mismatch', '2022-11-23T20:02:59Z'],
    [(m) => { m.timestamp = 1669233779 }, ['timestamp'], 'string_type', 1669233779],
    [(m) => { m.id = '' }, ['id'], 'string_too_short', ''],
    [(m) => { m.text = { body: 'x'.repeat(4097) } }, ['text', 'body'], 'string_too_long', undefined]
  ]
  for (const [change, field, type, input] of cases) {
    const body = twoMessagesInOneChange(change)
    const response = await postWhatsApp(app, body, await whatsappSignature(WHATSAPP_SECRET, body))
    assert.equal(response.statusCode, 422, field.join('.'))
    const [issue, ...others] = response.json().detail
    assert.deepEqual(others, [], field.join('.'))
    assert.deepEqual(issue.loc, ['body', 'entry', 0, 'changes', 0, 'value', 'messages', 1, ...field])
    assert.equal(issue.type, type)
    if (input !== undefined) assert.deepEqual(issue.input, input)
  }
  assert.equal((await listMessages(app)).total, 0)
  const metrics = await scrape(app)
  assert.equal(valueOf(metrics, 'provider_deliveries_total', { source: 'whatsapp', result: 'validation_error' }), cases.length)
  assert.equal(valueOf(metrics, 'provider_messages_total', { source: 'whatsapp', result: 'created' }), 0)
})

test('a text message maps per §11 and is listed, counted and logged', async (t) => {
  const { app, logs } = await build(t, { ...ENV, LOG_LEVEL: 'info' })
  const response = await postWhatsApp(app, TEXT, await whatsappSignature(WHATSAPP_SECRET, TEXT), { 'x-request-id': 'wa-text' })
  assert.equal(response.statusCode, 200)
  assert.deepEqual(response.json(), { status: 'ok' })
  assert.deepEqual((await listMessages(app)).data, [{
    message_id: TEXT_ID, from: '+16505551234', to: '+15550783881', ts: '2025-06-08T20:59:43Z', text: 'Does it come in another color?'
  }])
  const stats = (await app.inject('/stats')).json()
  assert.equal(stats.total_messages, 1)
  assert.deepEqual(stats.messages_per_sender, [{ from: '+16505551234', count: 1 }])
  const line = logs.find((entry) => entry.request_id === 'wa-text')!
  assert.equal(line.source, 'whatsapp')
  assert.equal(line.messages, 1)
  assert.equal(line.result, 'stored')
  assert.equal(line.path, '/webhooks/whatsapp')
  assert.ok(!JSON.stringify(logs).includes(WHATSAPP_SECRET), 'no secret in the logs')
  assert.ok(!JSON.stringify(logs).includes(await whatsappSignature(WHATSAPP_SECRET, TEXT)), 'no signature in the logs')
})

test('an image caption becomes the text; other media and unknown types store null', async (t) => {
  const { app } = await build(t, ENV)
  const image = fixture('whatsapp-image-caption.json')
  assert.equal((await postWhatsApp(app, image, await whatsappSignature(WHATSAPP_SECRET, image))).statusCode, 200)
  const delivery = JSON.parse(image.toString('utf8'))
  const message = delivery.entry[0].changes[0].value.messages[0]
  message.id = 'wamid.no-caption'
  delete message.image.caption
  const sticker = { ...message, id: 'wamid.sticker', type: 'sticker', sticker: { id: '1' } }
  delete sticker.image
  delivery.entry[0].changes[0].value.messages.push(sticker)
  const body = JSON.stringify(delivery)
  assert.equal((await postWhatsApp(app, body, await whatsappSignature(WHATSAPP_SECRET, body))).statusCode, 200)
  const texts = Object.fromEntries((await listMessages(app)).data.map((m) => [m.message_id, [m.text, m.ts]]))
  assert.deepEqual(texts, {
    [TEXT_ID]: ['Taj Mahal', '2025-04-11T04:08:16Z'],
    'wamid.no-caption': [null, '2025-04-11T04:08:16Z'],
    'wamid.sticker': [null, '2025-04-11T04:08:16Z']
  })
})

test('non-ASCII escaped as \\u00e9 verifies over the raw bytes and is stored decoded', async (t) => {
  const { app } = await build(t, ENV)
  const body = TEXT.toString('utf8').replace('Does it come in another color?', 'caf\\u00e9')
  const response = await postWhatsApp(app, body, await whatsappSignature(WHATSAPP_SECRET, body))
  assert.equal(response.statusCode, 200)
  assert.equal((await listMessages(app)).data[0]!.text, 'café')
})

test('redelivery: first write wins, the first ts is kept; the whole delivery counts as duplicate', async (t) => {
  const { app, logs } = await build(t, { ...ENV, LOG_LEVEL: 'info' })
  const image = fixture('whatsapp-image-caption.json') // Meta reuses the text example's wamid here
  assert.equal((await postWhatsApp(app, TEXT, await whatsappSignature(WHATSAPP_SECRET, TEXT))).statusCode, 200)
  const again = await postWhatsApp(app, image, await whatsappSignature(WHATSAPP_SECRET, image), { 'x-request-id': 'wa-dup' })
  assert.equal(again.statusCode, 200)
  assert.deepEqual(again.json(), { status: 'ok' })
  const { data } = await listMessages(app)
  assert.equal(data.length, 1)
  assert.equal(data[0]!.ts, '2025-06-08T20:59:43Z')
  assert.equal(data[0]!.text, 'Does it come in another color?')
  const line = logs.find((entry) => entry.request_id === 'wa-dup')!
  assert.equal(line.result, 'duplicate')
  assert.equal(line.messages, 0)
  const metrics = await scrape(app)
  assert.equal(valueOf(metrics, 'provider_deliveries_total', { source: 'whatsapp', result: 'stored' }), 1)
  assert.equal(valueOf(metrics, 'provider_deliveries_total', { source: 'whatsapp', result: 'duplicate' }), 1)
  assert.equal(valueOf(metrics, 'provider_messages_total', { source: 'whatsapp', result: 'created' }), 1)
  assert.equal(valueOf(metrics, 'provider_messages_total', { source: 'whatsapp', result: 'duplicate' }), 1)
})

test('two messages in two changes are stored together; a status-only delivery stores nothing and answers 200', async (t) => {
  const { app, logs } = await build(t, { ...ENV, LOG_LEVEL: 'info' })
  const two = fixture('whatsapp-two-messages.derived.json')
  const response = await postWhatsApp(app, two, await whatsappSignature(WHATSAPP_SECRET, two), { 'x-request-id': 'wa-two' })
  assert.equal(response.statusCode, 200)
  assert.deepEqual((await listMessages(app)).data.map((m) => [m.ts, m.text]), [
    ['2022-11-23T20:02:58Z', 'MESSAGE_BODY'], ['2022-11-23T20:02:59Z', 'MESSAGE_BODY2']
  ])
  assert.equal(logs.find((entry) => entry.request_id === 'wa-two')!.messages, 2)

  const status = fixture('whatsapp-status.json')
  const ignored = await postWhatsApp(app, status, await whatsappSignature(WHATSAPP_SECRET, status), { 'x-request-id': 'wa-status' })
  assert.equal(ignored.statusCode, 200)
  assert.deepEqual(ignored.json(), { status: 'ok' })
  assert.equal((await listMessages(app)).total, 2)
  const line = logs.find((entry) => entry.request_id === 'wa-status')!
  assert.deepEqual([line.result, line.messages, line.source], ['ignored', 0, 'whatsapp'])
  // Messages under a change whose field is not "messages" are not messages.
  const other = JSON.parse(TEXT.toString('utf8'))
  other.entry[0].changes[0].field = 'message_template_status_update'
  other.entry[0].changes[0].value.messages[0].from = 'not digits'
  const body = JSON.stringify(other)
  assert.equal((await postWhatsApp(app, body, await whatsappSignature(WHATSAPP_SECRET, body))).statusCode, 200)
  const metrics = await scrape(app)
  assert.equal(valueOf(metrics, 'provider_deliveries_total', { source: 'whatsapp', result: 'ignored' }), 2)
})

test('a delivery is one saveAll call (one commit); concurrent redeliveries all answer 200 and store each message once', async (t) => {
  const { app } = await build(t, ENV)
  const calls: number[] = []
  const saveAll = app.store.saveAll.bind(app.store)
  app.store.saveAll = async (messages) => { calls.push(messages.length); return saveAll(messages) }
  const two = fixture('whatsapp-two-messages.derived.json')
  const signature = await whatsappSignature(WHATSAPP_SECRET, two)
  const responses = await Promise.all(Array.from({ length: 5 }, () => postWhatsApp(app, two, signature)))
  assert.deepEqual(responses.map((r) => r.statusCode), [200, 200, 200, 200, 200])
  assert.deepEqual(calls, [2, 2, 2, 2, 2])
  assert.equal((await listMessages(app)).total, 2)
  const metrics = await scrape(app)
  assert.equal(valueOf(metrics, 'provider_messages_total', { source: 'whatsapp', result: 'created' }), 2)
  assert.equal(valueOf(metrics, 'provider_messages_total', { source: 'whatsapp', result: 'duplicate' }), 8)
})

test('a store failure is a 503 with Retry-After, never a 200', async (t) => {
  const { app } = await build(t, ENV)
  app.store.saveAll = async () => { throw new StoreUnavailableError('database is busy', { retryAfterSeconds: 2 }) }
  const response = await postWhatsApp(app, TEXT, await whatsappSignature(WHATSAPP_SECRET, TEXT))
  assert.equal(response.statusCode, 503)
  assert.equal(response.headers['retry-after'], '2')
  const metrics = await scrape(app)
  assert.equal(valueOf(metrics, 'provider_deliveries_total', { source: 'whatsapp', result: 'unavailable' }), 1)
})

test('the OpenAPI document lists the enabled routes with every status, and a real validator accepts it', async (t) => {
  const { app } = await build(t, PROVIDERS_ENV)
  const document = (await app.inject('/docs/json')).json()
  const result = await validate(structuredClone(document), { resolve: { external: false } })
  assert.equal(result.valid, true, result.valid ? '' : compileErrors(result))
  const post = document.paths['/webhooks/whatsapp'].post
  assert.deepEqual(Object.keys(post.responses).sort(), ['200', '401', '413', '415', '422', '500', '503'])
  assert.match(post.responses['401'].description, /invalid signature/)
  assert.doesNotMatch(post.responses['401'].description, /X-Signature/)
  assert.ok(post.parameters.some((p: { name: string }) => p.name === 'x-hub-signature-256'))
  assert.deepEqual(Object.keys(document.paths['/webhooks/whatsapp'].get.responses).sort(), ['200', '403', '500'])
  assert.deepEqual(Object.keys(document.paths['/webhooks/twilio'].post.responses).sort(), ['200', '401', '413', '415', '422', '500', '503'])
  assert.ok(document.paths['/webhooks/twilio'].post.responses['200'].content['text/xml; charset=utf-8'])
})

import assert from 'node:assert/strict'
import { createHmac } from 'node:crypto'
import { test } from 'node:test'
import { sign } from '../../src/lib/signature.ts'
import { SECRET, build, deliver, message } from '../helper.ts'

const rows = async (app: Awaited<ReturnType<typeof build>>['app']) => (await app.inject('/messages?limit=100')).json()

test('401 for every bad signature, whatever the body, and nothing is stored', async (t) => {
  const { app } = await build(t)
  const body = JSON.stringify(message())
  const good = sign(SECRET, body)
  const variants: Record<string, string | undefined> = {
    missing: undefined,
    empty: '',
    'wrong length': good.slice(0, 40),
    'non-hex': 'g'.repeat(64),
    'other secret': createHmac('sha256', 'not-the-secret').update(body).digest('hex'),
    'other body': sign(SECRET, body + ' '),
    'sha256= prefix': `sha256=${good}`,
    base64: createHmac('sha256', SECRET).update(body).digest('base64')
  }
  for (const [name, signature] of Object.entries(variants)) {
    const response = await deliver(app, body, { 'x-signature': signature })
    assert.equal(response.statusCode, 401, name)
    assert.deepEqual(response.json(), { detail: 'invalid signature' }, name)
  }
  for (const raw of ['not json', '', '[]', '{"message_id":']) {
    const response = await deliver(app, raw, { 'x-signature': 'f'.repeat(64) })
    assert.equal(response.statusCode, 401, raw)
  }
  assert.equal((await rows(app)).total, 0)
})

test('signature is checked before content type and JSON: 401, then 415, then 422', async (t) => {
  const { app } = await build(t)
  assert.equal((await deliver(app, 'not json', { 'x-signature': 'bad', 'content-type': 'text/plain' })).statusCode, 401)
  const unsupported = await deliver(app, 'not json', { 'content-type': 'text/plain' })
  assert.equal(unsupported.statusCode, 415)
  assert.deepEqual(unsupported.json(), { detail: 'unsupported media type' })
  assert.equal((await deliver(app, 'not json', { 'content-type': undefined })).statusCode, 415)
  assert.equal((await deliver(app, JSON.stringify(message()), { 'content-type': 'application/x-www-form-urlencoded' })).statusCode, 415)
  const invalid = await deliver(app, 'not json')
  assert.equal(invalid.statusCode, 422)
  assert.deepEqual(invalid.json().detail[0].loc, ['body'])
  assert.equal(invalid.json().detail[0].type, 'json_invalid')
})

test('uppercase hex and JSON media types with parameters or +json are accepted', async (t) => {
  const { app } = await build(t)
  const body = JSON.stringify(message())
  assert.equal((await deliver(app, body, { 'x-signature': sign(SECRET, body).toUpperCase() })).statusCode, 200)
  assert.equal((await deliver(app, JSON.stringify(message({ message_id: 'm2' })), { 'content-type': 'application/json; charset=utf-8' })).statusCode, 200)
  assert.equal((await deliver(app, JSON.stringify(message({ message_id: 'm3' })), { 'content-type': 'application/vnd.provider+json' })).statusCode, 200)
  assert.equal((await rows(app)).total, 3)
})

test('413 above BODY_LIMIT, before the signature is looked at', async (t) => {
  const { app } = await build(t, { BODY_LIMIT: '200' })
  const big = JSON.stringify(message({ text: 'x'.repeat(300) }))
  const response = await deliver(app, big, { 'x-signature': 'bad' })
  assert.equal(response.statusCode, 413)
  assert.deepEqual(response.json(), { detail: 'payload too large' })
  assert.equal((await deliver(app, big)).statusCode, 413)
  assert.equal((await deliver(app, JSON.stringify(message()))).statusCode, 200)
})

test('422 for each field rule, with loc and input, one entry per problem', async (t) => {
  const { app } = await build(t)
  const cases: Array<[Record<string, unknown>, string[], string]> = [
    [{ message_id: undefined }, ['body', 'message_id'], 'missing'],
    [{ message_id: '' }, ['body', 'message_id'], 'string_too_short'],
    [{ message_id: 5 }, ['body', 'message_id'], 'string_type'],
    [{ from: undefined }, ['body', 'from'], 'missing'],
    [{ from: '919876543210' }, ['body', 'from'], 'string_pattern_mismatch'],
    [{ from: '+' }, ['body', 'from'], 'string_pattern_mismatch'],
    [{ from: '+91 98' }, ['body', 'from'], 'string_pattern_mismatch'],
    [{ from: '+٩١' }, ['body', 'from'], 'string_pattern_mismatch'],
    [{ from: '+91\n' }, ['body', 'from'], 'string_pattern_mismatch'],
    [{ from: 919876543210 }, ['body', 'from'], 'string_type'],
    [{ to: 'x' }, ['body', 'to'], 'string_pattern_mismatch'],
    [{ ts: undefined }, ['body', 'ts'], 'missing'],
    [{ ts: '2025-02-30T10:00:00Z' }, ['body', 'ts'], 'datetime_format'],
    [{ ts: '2025-01-15T24:00:00Z' }, ['body', 'ts'], 'datetime_format'],
    [{ ts: '2025-01-15T10:00:60Z' }, ['body', 'ts'], 'datetime_format'],
    [{ ts: '2025-01-15T10:00:00+00:00' }, ['body', 'ts'], 'datetime_format'],
    [{ ts: '2025-01-15T10:00:00z' }, ['body', 'ts'], 'datetime_format'],
    [{ ts: 1736935200 }, ['body', 'ts'], 'string_type'],
    [{ text: 5 }, ['body', 'text'], 'string_type'],
    [{ text: ['a'] }, ['body', 'text'], 'string_type'],
    [{ text: 'x'.repeat(4097) }, ['body', 'text'], 'string_too_long']
  ]
  for (const [overrides, loc, type] of cases) {
    const body = JSON.parse(JSON.stringify(message(overrides)))
    const response = await deliver(app, body)
    assert.equal(response.statusCode, 422, JSON.stringify(overrides))
    const { detail } = response.json()
    assert.equal(detail.length, 1, JSON.stringify(detail))
    assert.deepEqual(detail[0].loc, loc)
    assert.equal(detail[0].type, type)
    assert.equal(typeof detail[0].msg, 'string')
    assert.ok('input' in detail[0])
  }
  const many = await deliver(app, { message_id: '', from: 'x', to: 'y', ts: 'z', text: 1 })
  assert.deepEqual(many.json().detail.map((d: { loc: string[] }) => d.loc[1]).sort(), ['from', 'message_id', 'text', 'to', 'ts'])
  for (const raw of ['[]', '"x"', 'null', '42', '{"a":1', '\uFEFF{}']) {
    const response = await deliver(app, raw)
    assert.equal(response.statusCode, 422, raw)
    assert.deepEqual(response.json().detail[0].loc.slice(0, 1), ['body'])
  }
  const notUtf8 = await deliver(app, Buffer.from([0x7b, 0x22, 0xff, 0x22, 0x7d]))
  assert.equal(notUtf8.statusCode, 422)
  assert.equal((await rows(app)).total, 0)
})

test('text: null and absent are stored as null; 4096 code points pass, 4097 do not (multi-byte counted once)', async (t) => {
  const { app } = await build(t)
  assert.equal((await deliver(app, message({ message_id: 'null', text: null }))).statusCode, 200)
  const absent = message({ message_id: 'absent' })
  delete absent.text
  assert.equal((await deliver(app, absent)).statusCode, 200)
  const emoji4096 = '😀'.repeat(4096) // 8192 UTF-16 units, 16384 bytes, 4096 code points
  assert.equal((await deliver(app, message({ message_id: 'max', text: emoji4096 }))).statusCode, 200)
  assert.equal((await deliver(app, message({ message_id: 'over', text: emoji4096 + 'é' }))).statusCode, 422)
  assert.equal((await deliver(app, message({ message_id: 'accents', text: 'é'.repeat(4096) }))).statusCode, 200)
  const { data } = await rows(app)
  const byId = Object.fromEntries(data.map((m: { message_id: string }) => [m.message_id, m]))
  assert.equal(byId.null.text, null)
  assert.equal(byId.absent.text, null)
  assert.equal(byId.max.text, emoji4096)
  assert.equal(byId.over, undefined)
})

test('extra keys are ignored and ts is kept byte for byte', async (t) => {
  const { app } = await build(t)
  const raw = JSON.stringify(message({ ts: '2025-01-15T10:00:00.120Z', extra: { deep: [1, 2] }, constructor: 'x' })).replace('{', '{"__proto__":{"polluted":1},')
  const response = await deliver(app, raw)
  assert.equal(response.statusCode, 200)
  const { data } = await rows(app)
  assert.deepEqual(data, [{ message_id: 'm1', from: '+919876543210', to: '+14155550100', ts: '2025-01-15T10:00:00.120Z', text: 'Hello' }])
  assert.equal(({} as Record<string, unknown>).polluted, undefined)
})

test('a known message_id answers 200 and changes nothing: first write wins', async (t) => {
  const { app } = await build(t)
  assert.deepEqual((await deliver(app, message())).json(), { status: 'ok' })
  const second = await deliver(app, message({ from: '+1', to: '+2', ts: '2030-01-01T00:00:00Z', text: 'changed' }))
  assert.equal(second.statusCode, 200)
  assert.deepEqual(second.json(), { status: 'ok' })
  const { data, total } = await rows(app)
  assert.equal(total, 1)
  assert.deepEqual(data[0], { message_id: 'm1', from: '+919876543210', to: '+14155550100', ts: '2025-01-15T10:00:00Z', text: 'Hello' })
})

test('10 concurrent deliveries of one new id: ten 200s, one row', async (t) => {
  const { app } = await build(t)
  const bodies = Array.from({ length: 10 }, (_, i) => message({ message_id: 'same', text: `body ${i}` }))
  const responses = await Promise.all(bodies.map((b) => deliver(app, b)))
  assert.deepEqual(responses.map((r) => r.statusCode), Array(10).fill(200))
  const { data, total } = await rows(app)
  assert.equal(total, 1)
  assert.match(data[0].text, /^body \d$/)
  const stats = (await app.inject('/stats')).json()
  assert.equal(stats.total_messages, 1)
})

test('other methods on /webhook: 405 with Allow: POST', async (t) => {
  const { app } = await build(t)
  for (const method of ['GET', 'PUT', 'DELETE', 'PATCH'] as const) {
    const response = await app.inject({ method, url: '/webhook' })
    assert.equal(response.statusCode, 405, method)
    assert.equal(response.headers.allow, 'POST')
    assert.deepEqual(response.json(), { detail: 'method not allowed' })
  }
})

import assert from 'node:assert/strict'
import { test } from 'node:test'
import fc from 'fast-check'
import type { FastifyInstance } from 'fastify'
import { sign } from '../../src/lib/signature.ts'
import { build, SECRET } from '../helper.ts'

// Hostile input against POST /webhook through the real app (buildApp, in-memory database).
// Invariants: never a 5xx, only contract statuses, and a row only for a valid, signed delivery.

const ALLOWED = new Set([200, 401, 413, 415, 422])
const CONTENT_TYPES = ['application/json', 'application/json; charset=utf-8', 'application/cloudevents+json', 'text/plain',
  'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', 'APPLICATION/JSON', 'application/json;;', '', undefined]

// 'wrong' and 'near' are well-formed 64-hex-character signatures of the wrong value, so a compare
// that looked only at the header's shape or length would let them through.
type Signing = 'signed' | 'unsigned' | 'wrong' | 'near' | 'uppercase' | 'garbage'

/** The right signature with one hex digit changed, at a position that varies with the payload. */
function nearMiss (payload: Buffer): string {
  const valid = sign(SECRET, payload)
  const at = payload.length % valid.length
  const digit = ((parseInt(valid[at]!, 16) + 1 + (payload.length % 15)) % 16).toString(16)
  return valid.slice(0, at) + digit + valid.slice(at + 1)
}

function signatureFor (mode: Signing, payload: Buffer): string | undefined {
  switch (mode) {
    case 'signed': return sign(SECRET, payload)
    case 'uppercase': return sign(SECRET, payload).toUpperCase()
    case 'wrong': return sign('another-secret', payload)
    case 'near': return nearMiss(payload)
    case 'garbage': return 'zz'.repeat(32)
    case 'unsigned': return undefined
  }
}

async function post (app: FastifyInstance, payload: Buffer, contentType: string | undefined, signing: Signing) {
  const headers: Record<string, string> = {}
  if (contentType !== undefined) headers['content-type'] = contentType
  const signature = signatureFor(signing, payload)
  if (signature !== undefined) headers['x-signature'] = signature
  return app.inject({ method: 'POST', url: '/webhook', headers, payload })
}

const total = async (app: FastifyInstance): Promise<number> => (await app.inject('/stats')).json().total_messages

const signing = fc.constantFrom<Signing>('signed', 'unsigned', 'wrong', 'near', 'uppercase', 'garbage')
const contentType = fc.constantFrom(...CONTENT_TYPES)

/** A JSON value that may be anything, including prototype keys and deep or huge values. */
const hostileValue = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: 'small' },
    fc.string({ unit: 'binary', maxLength: 50 }),
    fc.double(),
    fc.bigInt().map((n) => n.toString()),
    fc.constantFrom(null, true, false, '', '+', '+1', '2025-01-15T10:00:00Z', '1e400', '__proto__'),
    fc.array(tie('value'), { maxLength: 4 }),
    fc.dictionary(fc.constantFrom('__proto__', 'constructor', 'prototype', 'message_id', 'toString', 'x'), tie('value'), { maxKeys: 3 })
  )
})).value

const plausibleBody = fc.record({
  message_id: fc.oneof(fc.string({ maxLength: 20 }), hostileValue),
  from: fc.oneof(fc.constantFrom('+919876543210', '+1', '919876543210', '+', '+1 2'), hostileValue),
  to: fc.oneof(fc.constant('+14155550100'), hostileValue),
  ts: fc.oneof(fc.constantFrom('2025-01-15T10:00:00Z', '2025-02-30T10:00:00Z', '2025-01-15T10:00:00.123456789Z', '2025-01-15T10:00:00+00:00'), hostileValue),
  text: fc.oneof(fc.string({ maxLength: 50 }), fc.constant(null), hostileValue),
  __proto__: fc.oneof(hostileValue, fc.constant({ polluted: 'yes' })),
  constructor: fc.oneof(hostileValue, fc.constant({ prototype: { polluted: 'yes' } }))
}, { requiredKeys: [] })

test('random bytes, any content type, signed or not: never 5xx, and no row for anything not valid and signed', async (t) => {
  const { app } = await build(t)
  await fc.assert(fc.asyncProperty(fc.uint8Array({ maxLength: 2048 }), contentType, signing, async (bytes, type, mode) => {
    const before = await total(app)
    const response = await post(app, Buffer.from(bytes), type, mode)
    assert.ok(ALLOWED.has(response.statusCode), `status ${response.statusCode}: ${response.body}`)
    assert.equal(typeof response.json().detail === 'string' || Array.isArray(response.json().detail) || response.statusCode === 200, true)
    if (response.statusCode !== 200) assert.equal(await total(app), before)
    if (mode !== 'signed' && mode !== 'uppercase') assert.equal(response.statusCode, 401)
  }), { numRuns: 300 })
})

test('hostile JSON (prototype keys, deep, huge, wrong types): never 5xx, rows only for valid signed bodies, no pollution', async (t) => {
  const { app } = await build(t)
  const stored = new Set<string>()
  await fc.assert(fc.asyncProperty(plausibleBody, signing, async (body, mode) => {
    const payload = Buffer.from(JSON.stringify(body))
    const response = await post(app, payload, 'application/json', mode)
    assert.ok(ALLOWED.has(response.statusCode), `status ${response.statusCode}: ${response.body}`)
    if (mode !== 'signed' && mode !== 'uppercase') assert.equal(response.statusCode, 401, `${mode}: ${response.body}`)
    if (response.statusCode === 200) {
      const parsed = JSON.parse(payload.toString('utf8')) as Record<string, unknown>
      assert.equal(typeof parsed.message_id, 'string')
      stored.add(parsed.message_id as string)
    }
    assert.equal(await total(app), stored.size)
  }), { numRuns: 400 })
  assert.equal(({} as Record<string, unknown>).polluted, undefined)
  assert.equal(Object.hasOwn(Object.prototype, 'polluted'), false)
})

test('broken UTF-8 inside an otherwise valid signed body: 422, no row', async (t) => {
  const { app } = await build(t)
  const broken = [[0xff], [0xc3], [0xe2, 0x82], [0xed, 0xa0, 0x80], [0xf4, 0x90, 0x80, 0x80], [0xc0, 0xaf], [0x80]]
  await fc.assert(fc.asyncProperty(fc.constantFrom(...broken), fc.nat({ max: 10 }), async (sequence, at) => {
    const head = Buffer.from('{"message_id":"u","from":"+1","to":"+2","ts":"2025-01-15T10:00:00Z","text":"ab')
    const tail = Buffer.from('cd"}')
    const text = Buffer.concat([head, Buffer.from('x'.repeat(at)), Buffer.from(sequence), tail])
    const response = await post(app, text, 'application/json', 'signed')
    assert.equal(response.statusCode, 422, response.body)
    assert.deepEqual(response.json().detail[0].loc, ['body'])
  }), { numRuns: 60 })
  assert.equal(await total(app), 0)
})

/** The `loc` of every validation issue in a 422 body. */
const locs = (body: string): string[] => (JSON.parse(body) as { detail: Array<{ loc: string[] }> }).detail.map((issue) => issue.loc.join('.'))

test('deep nesting, in an ignored key and in a validated field: the status the field rules give, never 5xx', async (t) => {
  const { app } = await build(t)
  for (const depth of [100, 1_000, 10_000, 100_000]) {
    const deep = '['.repeat(depth) + ']'.repeat(depth)
    const cases: Array<[string, number, string | null]> = [
      // [payload, status, a `loc` the 422 must name]
      [`{"message_id":"d${depth}","from":"+1","to":"+2","ts":"2025-01-15T10:00:00Z","extra":${deep}}`, 200, null], // other keys are ignored
      [`{"message_id":"e${depth}","from":"+1","to":"+2","ts":"2025-01-15T10:00:00Z","text":${deep}}`, 422, 'body.text'],
      [`{"message_id":${deep}}`, 422, 'body.message_id'],
      [deep, 422, 'body'] // not an object
    ]
    for (const [payload, status, loc] of cases) {
      const response = await post(app, Buffer.from(payload), 'application/json', 'signed')
      assert.equal(response.statusCode, status, `depth ${depth}: ${response.body.slice(0, 200)}`)
      if (loc !== null) assert.ok(locs(response.body).includes(loc), `depth ${depth}: ${loc} in ${response.body.slice(0, 300)}`)
    }
  }
})

test('huge numbers and strings: the status the field rules give, never 5xx', async (t) => {
  const { app } = await build(t)
  const cases: Array<[string, number, string | null]> = [
    ['{"message_id":1e400,"from":"+1","to":"+2","ts":"2025-01-15T10:00:00Z"}', 422, 'body.message_id'],
    ['{"message_id":"n","from":"+1","to":"+2","ts":"2025-01-15T10:00:00Z","text":-1e-400}', 422, 'body.text'],
    // No length cap on message_id, nor on the digits of from and to (contract §2); both bodies are under BODY_LIMIT.
    [`{"message_id":"${'m'.repeat(900_000)}","from":"+1","to":"+2","ts":"2025-01-15T10:00:00Z"}`, 200, null],
    [`{"message_id":"big","from":"+${'9'.repeat(500_000)}","to":"+2","ts":"2025-01-15T10:00:00Z"}`, 200, null],
    [`{"message_id":"txt","from":"+1","to":"+2","ts":"2025-01-15T10:00:00Z","text":"${'é'.repeat(4097)}"}`, 422, 'body.text'],
    [`{"message_id":${'9'.repeat(100_000)}}`, 422, 'body.message_id']
  ]
  for (const [payload, status, loc] of cases) {
    const response = await post(app, Buffer.from(payload), 'application/json', 'signed')
    assert.equal(response.statusCode, status, `${payload.slice(0, 60)}: ${response.body.slice(0, 200)}`)
    if (loc !== null) assert.ok(locs(response.body).includes(loc), `${loc} in ${response.body.slice(0, 300)}`)
  }
})

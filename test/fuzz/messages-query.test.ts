import assert from 'node:assert/strict'
import { test } from 'node:test'
import fc from 'fast-check'
import { MessagesQuery } from '../../schemas/messages.ts'
import { build, deliver, message } from '../helper.ts'

// Every query parameter of GET /messages (read from the schema, so a new one is fuzzed too), plus
// unknown and repeated ones, with hostile values, raw or percent-encoded: only 200 or 422, never 5xx.

const PARAMS = [...Object.keys(MessagesQuery.properties), 'unknown', '__proto__', 'constructor']

const hostile = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 40 }),
  fc.string({ unit: 'grapheme', maxLength: 40 }),
  fc.constantFrom('', ' ', '+', '%', '%%', '%zz', '%C3', '%00', '%FF%FE', '#', '&', '=', '?', '+919876543210', ' 919876543210',
    '-1', '0', '1', '100', '101', '1e3', '0x10', '1.5', 'NaN', 'Infinity', '9'.repeat(400), '-0', '00', ' 5',
    '2025-01-15T10:00:00Z', '2025-02-30T10:00:00Z', '2025-01-15T10:00:00.1234567890Z', '2025-01-15', 'AAAA', 'A'.repeat(5000),
    '\u0000', '\uD800', 'É', '_', '%_', '[]', '{}', 'true'),
  fc.nat().map(String),
  fc.integer().map(String)
)

/** Raw (as a careless client sends it) or percent-encoded (as a careful one does). */
const percentEncoded = (value: string) => [...Buffer.from(value, 'utf8')].map((b) => `%${b.toString(16).padStart(2, '0')}`).join('')
const encoded = fc.tuple(hostile, fc.boolean()).map(([value, raw]) => raw ? value : percentEncoded(value))

const query = fc.array(fc.tuple(fc.constantFrom(...PARAMS), encoded), { maxLength: 6 })
  .map((pairs) => pairs.map(([name, value]) => `${name}=${value}`).join('&'))

test('GET /messages with hostile query strings: 200 or 422 with the contract body, never 5xx', async (t) => {
  const { app } = await build(t)
  for (let i = 0; i < 5; i++) await deliver(app, message({ message_id: `m${i}`, text: i % 2 === 0 ? 'Café 100%' : null }))
  await fc.assert(fc.asyncProperty(query, async (qs) => {
    const response = await app.inject({ method: 'GET', url: `/messages?${qs}` })
    assert.ok([200, 422].includes(response.statusCode), `${response.statusCode} for ?${qs}: ${response.body.slice(0, 300)}`)
    const body = response.json()
    if (response.statusCode === 200) {
      assert.ok(Array.isArray(body.data) && Number.isInteger(body.total))
    } else {
      assert.ok(Array.isArray(body.detail) && body.detail.length > 0)
      for (const issue of body.detail) assert.equal(issue.loc[0], 'query')
    }
  }), { numRuns: 1500 })
})

test('GET /stats ignores any query string: always 200', async (t) => {
  const { app } = await build(t)
  await fc.assert(fc.asyncProperty(query, async (qs) => {
    const response = await app.inject({ method: 'GET', url: `/stats?${qs}` })
    assert.equal(response.statusCode, 200, `?${qs}: ${response.body.slice(0, 200)}`)
    assert.equal(typeof response.json().total_messages, 'number')
  }), { numRuns: 300 })
})

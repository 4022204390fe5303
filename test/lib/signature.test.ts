import assert from 'node:assert/strict'
import { createHmac } from 'node:crypto'
import { test } from 'node:test'
import { isValidSignature, sign } from '../../src/lib/signature.ts'

const body = Buffer.from('{"message_id":"m1"}')
const good = createHmac('sha256', 'k').update(body).digest('hex')

test('accepts the hex HMAC-SHA256 of the exact bytes, lowercase or uppercase', () => {
  assert.equal(sign('k', body), good)
  assert.equal(isValidSignature('k', body, good), true)
  assert.equal(isValidSignature('k', body, good.toUpperCase()), true)
})

test('refuses missing, empty, short, long, non-hex, prefixed, other-key and other-body signatures', () => {
  const cases: Array<string | undefined> = [
    undefined, '', good.slice(0, 63), good + '0', good.slice(0, 62), 'zz' + good.slice(2), `sha256=${good}`, ` ${good}`,
    createHmac('sha256', 'other').update(body).digest('hex'), createHmac('sha256', 'k').update('{"message_id":"m2"}').digest('hex'),
    createHmac('sha256', 'k').update(body).digest('base64')
  ]
  for (const header of cases) assert.equal(isValidSignature('k', body, header), false, String(header))
})

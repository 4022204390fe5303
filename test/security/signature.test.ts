import assert from 'node:assert/strict'
import { createHmac } from 'node:crypto'
import { test } from 'node:test'
import fc from 'fast-check'
import { isValidSignature } from '../../src/lib/signature.ts'

// Review of src/lib/signature.ts: the header's shape (public) is checked first, then the digests are
// compared with crypto.timingSafeEqual over two 32-byte buffers, so no header can make it throw or
// compare buffers of different lengths, and timing depends on neither value.

test('no header string makes the check throw, and only the exact digest (either case) passes', () => {
  fc.assert(fc.property(fc.string({ unit: 'binary', maxLength: 200 }), fc.uint8Array({ maxLength: 256 }), (header, bytes) => {
    const body = Buffer.from(bytes)
    const valid = createHmac('sha256', 'k').update(body).digest('hex')
    const accepted = isValidSignature('k', body, header)
    assert.equal(accepted, header.toLowerCase() === valid)
  }), { numRuns: 2000 })
})

test('lengths around 64 hex characters and odd lengths are refused without throwing', () => {
  const body = Buffer.from('{}')
  const valid = createHmac('sha256', 'k').update(body).digest('hex')
  for (const length of [0, 1, 2, 31, 32, 33, 62, 63, 65, 66, 127, 128, 129, 4096]) {
    const header = valid.repeat(70).slice(0, length)
    assert.equal(isValidSignature('k', body, header), false, `length ${length}`)
  }
})

test('a near miss in the last nibble, and hex with non-ASCII digits, are refused', () => {
  const body = Buffer.from('{"a":1}')
  const valid = createHmac('sha256', 'k').update(body).digest('hex')
  const flipped = valid.slice(0, 63) + (valid[63] === '0' ? '1' : '0')
  assert.equal(isValidSignature('k', body, flipped), false)
  assert.equal(isValidSignature('k', body, valid.slice(0, 63) + '٣'), false) // Arabic-Indic digit three
  assert.equal(isValidSignature('k', body, `${valid}\n`), false)
})

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

const HEX = [...'0123456789abcdefABCDEF']

test('well-formed 64-hex-digit candidates: only the right digest passes, in any mix of case', () => {
  // Most candidates have the exact shape and length of a valid signature, so a check that stopped at
  // the shape or the length, or compared only part of the digest, would accept some of them.
  const candidate = fc.oneof(
    fc.record({ kind: fc.constant('random' as const), hex: fc.string({ unit: fc.constantFrom(...HEX), minLength: 64, maxLength: 64 }) }),
    fc.record({ kind: fc.constant('one digit off' as const), at: fc.nat({ max: 63 }), by: fc.integer({ min: 1, max: 15 }) }),
    fc.record({ kind: fc.constant('case mix' as const), upper: fc.array(fc.boolean(), { minLength: 64, maxLength: 64 }) })
  )
  fc.assert(fc.property(fc.uint8Array({ maxLength: 256 }), fc.string({ minLength: 1, maxLength: 20 }), candidate, (bytes, key, c) => {
    const body = Buffer.from(bytes)
    const valid = createHmac('sha256', key).update(body).digest('hex')
    let header: string
    switch (c.kind) {
      case 'random': header = c.hex; break
      case 'one digit off': header = valid.slice(0, c.at) + ((parseInt(valid[c.at]!, 16) + c.by) % 16).toString(16) + valid.slice(c.at + 1); break
      case 'case mix': header = [...valid].map((digit, i) => c.upper[i] ? digit.toUpperCase() : digit).join(''); break
    }
    assert.equal(header.length, 64)
    assert.equal(isValidSignature(key, body, header), header.toLowerCase() === valid, `${c.kind}: ${header}`)
  }), { numRuns: 3000 })
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

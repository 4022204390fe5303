import assert from 'node:assert/strict'
import { test } from 'node:test'
import { normalizeSender } from '../../src/lib/sender.ts'

test('sender repair: an unencoded + arrives as a space', () => {
  assert.equal(normalizeSender(' 919876543210'), '+919876543210')
  assert.equal(normalizeSender('+919876543210'), '+919876543210')
  assert.equal(normalizeSender('  +91 '), '+91')
  assert.equal(normalizeSender(' 91 '), '+91')
  assert.equal(normalizeSender('  91'), '91')
  assert.equal(normalizeSender(' abc'), 'abc')
})

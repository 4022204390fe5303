import assert from 'node:assert/strict'
import { test } from 'node:test'
import { matchKey, parsePreviousKeys } from '../../src/lib/keyring.ts'

test('matchKey: current first, then any previous; every key is tried even after a match', () => {
  const tried: string[] = []
  const keyring = { current: 'c', previous: ['p1', 'p2', 'p3'] }
  const matches = (accepted: string[]) => (key: string) => { tried.push(key); return accepted.includes(key) }
  assert.equal(matchKey(keyring, matches(['c', 'p2'])), 'current')
  assert.deepEqual(tried, ['c', 'p1', 'p2', 'p3'])
  assert.equal(matchKey(keyring, matches(['p3'])), 'previous')
  assert.equal(matchKey(keyring, matches([])), 'none')
  assert.equal(matchKey({ current: 'c', previous: [] }, matches(['p1'])), 'none')
})

test('parsePreviousKeys: trimmed items; empty items and more than 10 refused without echoing a key', () => {
  assert.deepEqual(parsePreviousKeys(' a ,b'), { keys: ['a', 'b'] })
  assert.deepEqual(parsePreviousKeys(Array(10).fill('k').join(',')), { keys: Array(10).fill('k') })
  assert.deepEqual(parsePreviousKeys('a,,b'), { problem: 'has an empty item' })
  assert.deepEqual(parsePreviousKeys('a, '), { problem: 'has an empty item' })
  assert.deepEqual(parsePreviousKeys(Array(11).fill('secret').join(',')), { problem: 'has 11 items, more than 10' })
})

import assert from 'node:assert/strict'
import { test } from 'node:test'
import { instantKey, isTimestamp } from '../../src/lib/timestamp.ts'

test('accepts real UTC instants with an optional 1-9 digit fraction', () => {
  for (const ts of ['2025-01-15T10:00:00Z', '2024-02-29T23:59:59Z', '2025-01-15T10:00:00.5Z', '2025-01-15T10:00:00.123456789Z', '0001-01-01T00:00:00Z']) {
    assert.equal(isTimestamp(ts), true, ts)
  }
})

test('refuses impossible dates and times, offsets, lowercase z and other shapes', () => {
  for (const ts of [
    '2025-02-30T10:00:00Z', '2023-02-29T10:00:00Z', '1900-02-29T00:00:00Z', '2025-04-31T00:00:00Z', '2025-13-01T00:00:00Z',
    '2025-00-10T00:00:00Z', '2025-01-00T00:00:00Z', '2025-01-15T24:00:00Z', '2025-01-15T10:60:00Z', '2025-01-15T10:00:60Z',
    '2025-01-15T10:00:00+00:00', '2025-01-15T10:00:00z', '2025-01-15T10:00:00', '2025-01-15 10:00:00Z', '2025-01-15T10:00:00.Z',
    '2025-01-15T10:00:00.1234567890Z', '2025-1-15T10:00:00Z', ' 2025-01-15T10:00:00Z', '2025-01-15T10:00:00Z\n', '',
    '２025-01-15T10:00:00Z', '2025-01-15T10:00:0٠Z'
  ]) {
    assert.equal(isTimestamp(ts), false, JSON.stringify(ts))
  }
})

test('the instant key sorts by instant, whatever the fraction length', () => {
  const ordered = ['2025-01-15T10:00:00Z', '2025-01-15T10:00:00.000000001Z', '2025-01-15T10:00:00.1Z', '2025-01-15T10:00:00.5Z', '2025-01-15T10:00:01Z']
  const keys = ordered.map((ts) => instantKey(ts)!)
  assert.deepEqual([...keys].sort(), keys)
  assert.equal(instantKey('2025-01-15T10:00:00Z'), instantKey('2025-01-15T10:00:00.000Z'))
})

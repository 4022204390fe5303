import assert from 'node:assert/strict'
import { test } from 'node:test'
import { lowerBound } from '../../src/lib/lower-bound.ts'
import { random } from '../../scripts/random.ts'

test('lowerBound counts the items below a value, as a linear count does, with repeats and out-of-range values', () => {
  const rnd = random(31)
  for (let round = 0; round < 200; round++) {
    const sorted = Array.from({ length: Math.floor(rnd() * 20) }, () => Math.floor(rnd() * 10)).sort((a, b) => a - b)
    for (let value = -1; value <= 11; value++) {
      assert.equal(lowerBound(sorted, value), sorted.filter((n) => n < value).length, `${value} in ${sorted.join(',')}`)
    }
  }
  assert.equal(lowerBound(['2025-01', '2025-02', '2025-02', '2025-03'], '2025-02'), 1)
})

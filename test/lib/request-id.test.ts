import assert from 'node:assert/strict'
import { test } from 'node:test'
import { requestIdFrom } from '../../src/lib/request-id.ts'

test('request ids: safe incoming ids are kept, others replaced', () => {
  assert.equal(requestIdFrom('abc-123'), 'abc-123')
  for (const bad of [undefined, '', 'a\nb', 'x'.repeat(129), ['a', 'b'], '<script>']) {
    const id = requestIdFrom(bad)
    assert.notEqual(id, bad)
    assert.match(id, /^[0-9a-f-]{36}$/)
  }
})

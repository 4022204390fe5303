import assert from 'node:assert/strict'
import { test } from 'node:test'
import { isJsonMediaType } from '../../src/lib/media-type.ts'

test('JSON media types', () => {
  for (const ct of ['application/json', 'Application/JSON', 'application/json; charset=utf-8', 'application/vnd.api+json', 'application/cloudevents+json ; x=1']) {
    assert.equal(isJsonMediaType(ct), true, ct)
  }
  for (const ct of [undefined, '', 'text/plain', 'text/json', 'application/jsonx', 'application/x-www-form-urlencoded', 'multipart/form-data', 'application/+json']) {
    assert.equal(isJsonMediaType(ct), false, String(ct))
  }
})

import assert from 'node:assert/strict'
import { test } from 'node:test'
import { parseDatabaseUrl } from '../../src/lib/database-url.ts'
import { foldCase } from '../../src/store/fold-case.ts'
import { isJsonMediaType } from '../../src/lib/media-type.ts'
import { requestIdFrom } from '../../src/lib/request-id.ts'
import { normalizeSender } from '../../src/lib/sender.ts'

test('DATABASE_URL forms', () => {
  assert.deepEqual(parseDatabaseUrl('sqlite:////abs/path.db'), { engine: 'sqlite', filename: '/abs/path.db' })
  assert.deepEqual(parseDatabaseUrl('sqlite:///rel/path.db'), { engine: 'sqlite', filename: 'rel/path.db' })
  assert.deepEqual(parseDatabaseUrl('sqlite:///./data/app.db'), { engine: 'sqlite', filename: './data/app.db' })
  assert.deepEqual(parseDatabaseUrl('sqlite+aiosqlite:////abs/x.db'), { engine: 'sqlite', filename: '/abs/x.db' })
  assert.deepEqual(parseDatabaseUrl('sqlite::memory:'), { engine: 'sqlite', filename: ':memory:' })
  for (const url of ['postgresql://u@h/db', 'mysql://x', 'sqlite://host/x.db', 'sqlite:///', 'app.db', '']) {
    assert.equal(parseDatabaseUrl(url), null, url)
  }
})

test('sender repair: an unencoded + arrives as a space', () => {
  assert.equal(normalizeSender(' 919876543210'), '+919876543210')
  assert.equal(normalizeSender('+919876543210'), '+919876543210')
  assert.equal(normalizeSender('  +91 '), '+91')
  assert.equal(normalizeSender(' 91 '), '+91')
  assert.equal(normalizeSender('  91'), '91')
  assert.equal(normalizeSender(' abc'), 'abc')
})

test('JSON media types', () => {
  for (const ct of ['application/json', 'Application/JSON', 'application/json; charset=utf-8', 'application/vnd.api+json', 'application/cloudevents+json ; x=1']) {
    assert.equal(isJsonMediaType(ct), true, ct)
  }
  for (const ct of [undefined, '', 'text/plain', 'text/json', 'application/jsonx', 'application/x-www-form-urlencoded', 'multipart/form-data', 'application/+json']) {
    assert.equal(isJsonMediaType(ct), false, String(ct))
  }
})

test('case folding joins upper and lower case, non-ASCII included', () => {
  assert.equal(foldCase('É'), foldCase('é'))
  assert.equal(foldCase('HELLO Wörld'), 'hello wörld')
  assert.equal(foldCase('ΟΔΟΣ').includes(foldCase('σ')), true)
  assert.equal(foldCase('%_'), '%_')
})

test('request ids: safe incoming ids are kept, others replaced', () => {
  assert.equal(requestIdFrom('abc-123'), 'abc-123')
  for (const bad of [undefined, '', 'a\nb', 'x'.repeat(129), ['a', 'b'], '<script>']) {
    const id = requestIdFrom(bad)
    assert.notEqual(id, bad)
    assert.match(id, /^[0-9a-f-]{36}$/)
  }
})

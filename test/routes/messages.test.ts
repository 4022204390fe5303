import assert from 'node:assert/strict'
import { test, type TestContext } from 'node:test'
import { build, deliver, message } from '../helper.ts'

async function seeded (t: TestContext, messages: Array<Record<string, unknown>>) {
  const { app } = await build(t)
  for (const m of messages) assert.equal((await deliver(app, message(m))).statusCode, 200)
  return app
}

const ids = (body: { data: Array<{ message_id: string }> }) => body.data.map((m) => m.message_id)

test('empty store: an empty page with the defaults echoed', async (t) => {
  const { app } = await build(t)
  const response = await app.inject('/messages')
  assert.equal(response.statusCode, 200)
  assert.deepEqual(response.json(), { data: [], total: 0, limit: 50, offset: 0 })
})

test('order: ts instant ascending (fractions included), then message_id in byte order', async (t) => {
  const app = await seeded(t, [
    { message_id: 'b', ts: '2025-01-15T10:00:00Z' },
    { message_id: 'late', ts: '2025-01-15T10:00:00.5Z' },
    { message_id: 'a', ts: '2025-01-15T10:00:00.000Z' },
    { message_id: 'B', ts: '2025-01-15T10:00:00Z' },
    { message_id: 'é', ts: '2025-01-15T10:00:00Z' },
    { message_id: 'first', ts: '2025-01-15T09:59:59.999999999Z' },
    { message_id: 'tiny', ts: '2025-01-15T10:00:00.000000001Z' }
  ])
  assert.deepEqual(ids((await app.inject('/messages')).json()), ['first', 'B', 'a', 'b', 'é', 'tiny', 'late'])
})

test('items carry exactly five keys, ts byte for byte', async (t) => {
  const app = await seeded(t, [{ message_id: 'x', ts: '2025-01-15T10:00:00.10Z', text: null }])
  const [item] = (await app.inject('/messages')).json().data
  assert.deepEqual(item, { message_id: 'x', from: '+919876543210', to: '+14155550100', ts: '2025-01-15T10:00:00.10Z', text: null })
})

test('limit and offset page through; total ignores them', async (t) => {
  const app = await seeded(t, Array.from({ length: 7 }, (_, i) => ({ message_id: `m${i}`, ts: `2025-01-15T10:00:0${i}Z` })))
  const page = (await app.inject('/messages?limit=3&offset=2')).json()
  assert.deepEqual(ids(page), ['m2', 'm3', 'm4'])
  assert.equal(page.total, 7)
  assert.equal(page.limit, 3)
  assert.equal(page.offset, 2)
  assert.deepEqual(ids((await app.inject('/messages?limit=100&offset=6')).json()), ['m6'])
  assert.deepEqual((await app.inject('/messages?offset=50')).json(), { data: [], total: 7, limit: 50, offset: 50 })
})

test('422 for out-of-range or non-numeric limit/offset and an invalid since, with query locs', async (t) => {
  const { app } = await build(t)
  const cases: Array<[string, string]> = [
    ['limit=0', 'limit'], ['limit=101', 'limit'], ['limit=-1', 'limit'], ['limit=abc', 'limit'], ['limit=1.5', 'limit'], ['limit=', 'limit'],
    ['offset=-1', 'offset'], ['offset=x', 'offset'], ['offset=1e2x', 'offset'],
    ['since=yesterday', 'since'], ['since=2025-02-30T00:00:00Z', 'since'], ['since=2025-01-15T10:00:00%2B00:00', 'since'],
    ['limit=1&limit=2', 'limit']
  ]
  for (const [query, field] of cases) {
    const response = await app.inject(`/messages?${query}`)
    assert.equal(response.statusCode, 422, query)
    assert.deepEqual(response.json().detail[0].loc, ['query', field], query)
  }
  const both = (await app.inject('/messages?limit=0&offset=-1')).json()
  assert.equal(both.detail.length, 2)
  assert.equal((await app.inject('/messages?limit=100&offset=0')).statusCode, 200)
  assert.equal((await app.inject('/messages?limit=1')).statusCode, 200)
})

test('from: exact match; an unencoded + and surrounding spaces are repaired', async (t) => {
  const app = await seeded(t, [
    { message_id: 'a', from: '+919876543210' },
    { message_id: 'b', from: '+14155550100' },
    { message_id: 'c', from: '+9198765432100' }
  ])
  for (const query of ['from=%2B919876543210', 'from=+919876543210', 'from=%20919876543210', 'from=%20%2B919876543210%20', 'from=%2B919876543210%09']) {
    const page = (await app.inject(`/messages?${query}`)).json()
    assert.deepEqual(ids(page), ['a'], query)
    assert.equal(page.total, 1)
  }
  assert.equal((await app.inject('/messages?from=919876543210')).json().total, 0)
  assert.equal((await app.inject('/messages?from=%2B9198')).json().total, 0)
})

test('since keeps rows at or after the instant, fractions compared as instants', async (t) => {
  const app = await seeded(t, [
    { message_id: 'a', ts: '2025-01-15T10:00:00Z' },
    { message_id: 'b', ts: '2025-01-15T10:00:00.5Z' },
    { message_id: 'c', ts: '2025-01-15T10:00:01Z' }
  ])
  assert.deepEqual(ids((await app.inject('/messages?since=2025-01-15T10:00:00Z')).json()), ['a', 'b', 'c'])
  assert.deepEqual(ids((await app.inject('/messages?since=2025-01-15T10:00:00.000Z')).json()), ['a', 'b', 'c'])
  assert.deepEqual(ids((await app.inject('/messages?since=2025-01-15T10:00:00.1Z')).json()), ['b', 'c'])
  assert.deepEqual(ids((await app.inject('/messages?since=2025-01-15T10:00:00.500000000Z')).json()), ['b', 'c'])
  assert.deepEqual(ids((await app.inject('/messages?since=2025-01-15T10:00:00.5000001Z')).json()), ['c'])
  assert.equal((await app.inject('/messages?since=2026-01-01T00:00:00Z')).json().total, 0)
})

test('q: case-insensitive literal substring, non-ASCII folded, % and _ literal, empty q ignored', async (t) => {
  const app = await seeded(t, [
    { message_id: 'hello', text: 'Hello World' },
    { message_id: 'cafe', text: 'CAFÉ au lait' },
    { message_id: 'pct', text: '100% sure' },
    { message_id: 'under', text: 'snake_case' },
    { message_id: 'null', text: null },
    { message_id: 'greek', text: 'ΟΔΟΣ' }
  ])
  const search = async (q: string) => ids((await app.inject(`/messages?q=${encodeURIComponent(q)}`)).json())
  assert.deepEqual(await search('world'), ['hello'])
  assert.deepEqual(await search('WORLD'), ['hello'])
  assert.deepEqual(await search('café'), ['cafe'])
  assert.deepEqual(await search('é'), ['cafe'])
  assert.deepEqual(await search('%'), ['pct'])
  assert.deepEqual(await search('_'), ['under'])
  assert.deepEqual(await search('e_c'), ['under'])
  assert.deepEqual(await search('h%o'), [])
  assert.deepEqual(await search('οδοσ'), ['greek'])
  assert.deepEqual(await search('L'), ['cafe', 'hello'])
  assert.equal((await app.inject('/messages?q=')).json().total, 6)
  assert.equal((await app.inject('/messages?q=zzz')).json().total, 0)
})

test('filters combine with AND and total counts the filtered rows', async (t) => {
  const app = await seeded(t, [
    { message_id: 'a', from: '+1', ts: '2025-01-01T00:00:00Z', text: 'hi there' },
    { message_id: 'b', from: '+1', ts: '2025-02-01T00:00:00Z', text: 'hi again' },
    { message_id: 'c', from: '+2', ts: '2025-02-01T00:00:00Z', text: 'hi' },
    { message_id: 'd', from: '+1', ts: '2025-03-01T00:00:00Z', text: 'bye' }
  ])
  const page = (await app.inject('/messages?from=%2B1&since=2025-01-15T00:00:00Z&q=HI&limit=1')).json()
  assert.deepEqual(ids(page), ['b'])
  assert.equal(page.total, 1)
  assert.equal((await app.inject('/messages?from=%2B1&limit=1')).json().total, 3)
})

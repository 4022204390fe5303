import assert from 'node:assert/strict'
import { test } from 'node:test'
import type { LightMyRequestResponse } from 'fastify'
import { decodeCursor, encodeCursor } from '../../src/lib/cursor.ts'
import { build, deliver, message } from '../helper.ts'

test('cursors round-trip any message_id, and only cursors this service issued decode', () => {
  for (const messageId of ['m1', 'é\n😀', ' ', 'a/b+c=d']) {
    const position = { tsKey: '2025-01-15T10:00:00.500000000Z', messageId }
    assert.deepEqual(decodeCursor(encodeCursor(position)), position)
  }
  const valid = encodeCursor({ tsKey: '2025-01-15T10:00:00.000000000Z', messageId: 'x' })
  for (const cursor of ['', 'abc', valid + '=', valid.slice(0, -1), Buffer.from('2025-01-15\nx').toString('base64url'),
    Buffer.from('2025-01-15T10:00:00.000000000Z\n').toString('base64url'), Buffer.from([0xff, 0xfe]).toString('base64url')]) {
    assert.equal(decodeCursor(cursor), null, cursor)
  }
})

const linkOf = (header: string | string[] | number | undefined) => {
  const m = /^<([^>]+)>; rel="next"$/.exec(String(header ?? ''))
  return m === null ? null : m[1]!
}

test('GET /messages: Link next follows keyset pages with the same filters; the body keeps the contract shape', async (t) => {
  const { app } = await build(t)
  const ids: string[] = []
  for (let i = 0; i < 23; i++) {
    const id = `m${String(i).padStart(2, '0')}`
    ids.push(id)
    // Same second for many rows, so the cursor's message_id tie-break matters.
    const ts = `2025-01-15T10:00:0${i % 3}Z`
    assert.equal((await deliver(app, message({ message_id: id, ts, from: i % 2 === 0 ? '+1' : '+2', text: `Hello ${i}` }))).statusCode, 200)
  }
  const all = (await app.inject('/messages?limit=100')).json()
  assert.equal(linkOf((await app.inject('/messages?limit=100')).headers.link), null) // everything fit: no next

  // Walk all of '+1' with q, five at a time, through the Link headers only.
  const walked: string[] = []
  let url: string | null = '/messages?limit=5&from=%2B1&q=hello'
  let pages = 0
  while (url !== null && pages++ < 10) {
    const response: LightMyRequestResponse = await app.inject(url)
    assert.equal(response.statusCode, 200)
    const body = response.json()
    assert.deepEqual(Object.keys(body).sort(), ['data', 'limit', 'offset', 'total'])
    assert.equal(body.total, 12)
    assert.equal(body.limit, 5)
    walked.push(...body.data.map((m: { message_id: string }) => m.message_id))
    url = linkOf(response.headers.link)
    if (url !== null) assert.match(url, /^\/messages\?limit=5&from=%2B1&q=hello&after=[A-Za-z0-9_-]+$/)
  }
  const expected = all.data.filter((m: { from: string }) => m.from === '+1').map((m: { message_id: string }) => m.message_id)
  assert.deepEqual(walked, expected)
  assert.equal(pages, 3)

  // An offset page also offers the keyset continuation, which equals the next offset page.
  const offsetPage = await app.inject('/messages?limit=4&offset=8')
  const continued = (await app.inject(linkOf(offsetPage.headers.link)!)).json()
  assert.deepEqual(continued.data, (await app.inject('/messages?limit=4&offset=12')).json().data)
  assert.equal(continued.offset, 0)
  assert.equal(continued.total, 23)
})

test('GET /messages: a malformed or forged cursor is a 422 at query.after', async (t) => {
  const { app } = await build(t)
  for (const after of ['not+base64', Buffer.from('garbage').toString('base64url'), '']) {
    const response = await app.inject(`/messages?after=${encodeURIComponent(after)}`)
    assert.equal(response.statusCode, 422, after)
    const [issue] = response.json().detail
    assert.deepEqual(issue.loc, ['query', 'after'])
    assert.equal(issue.input, after)
  }
})

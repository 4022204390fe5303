import assert from 'node:assert/strict'
import { once } from 'node:events'
import { request as httpRequest, type IncomingMessage } from 'node:http'
import { join } from 'node:path'
import { test, type TestContext } from 'node:test'
import Database from 'better-sqlite3'
import type { FastifyInstance } from 'fastify'
import type { Message } from '../../schemas/messages.ts'
import { build, deliver, tempDir } from '../helper.ts'

/** A plain RFC 4180 reader: quoted fields with doubled quotes, CRLF or LF record ends; an empty unquoted field is null. */
function parseCsv (text: string): Array<Array<string | null>> {
  const records: Array<Array<string | null>> = []
  let record: Array<string | null> = []
  let i = 0
  while (i < text.length) {
    let field: string | null
    if (text[i] === '"') {
      field = ''
      i++
      for (;;) {
        assert.ok(i < text.length, 'unterminated quoted field')
        if (text[i] === '"') {
          if (text[i + 1] === '"') { field += '"'; i += 2; continue }
          i++
          break
        }
        field += text[i++]
      }
    } else {
      let end = i
      while (end < text.length && !',\r\n'.includes(text[end]!)) end++
      field = end === i ? null : text.slice(i, end)
      i = end
    }
    record.push(field)
    if (text[i] === ',') { i++; continue }
    if (text.startsWith('\r\n', i)) i += 2
    else if (text[i] === '\n') i++
    else assert.equal(i, text.length, `unexpected character after a field at ${i}`)
    records.push(record)
    record = []
  }
  return records
}

const TEXTS = ['plain', 'a, comma', 'a "quoted" word', 'line one\nline two', 'crlf\r\nend', '"', ',', '', null,
  'Grüße, café — 東京 😀', '  spaced  ', 'tab\there', '\u2028separator']

function sample (count: number, from = (i: number) => `+4${i % 7}`): Message[] {
  return Array.from({ length: count }, (_, i) => ({
    message_id: i % 11 === 0 ? `é-${i}` : `m-${String(i).padStart(5, '0')}`,
    from: from(i),
    to: '+14155550100',
    ts: `2025-01-${String(1 + (i % 28)).padStart(2, '0')}T10:${String(i % 60).padStart(2, '0')}:00${i % 3 === 0 ? '.5' : ''}Z`,
    text: TEXTS[i % TEXTS.length]!
  }))
}

async function seed (app: FastifyInstance, messages: Message[]) {
  for (let i = 0; i < messages.length; i += 500) await app.store.saveAll(messages.slice(i, i + 500))
}

/** Every item of `/messages` with these filters, page after page through the Link header. */
async function walk (app: FastifyInstance, query: string): Promise<Message[]> {
  const items: Message[] = []
  let url: string | null = `/messages?limit=100${query === '' ? '' : `&${query}`}`
  while (url !== null) {
    const response: Awaited<ReturnType<FastifyInstance['inject']>> = await app.inject(url)
    assert.equal(response.statusCode, 200, url)
    items.push(...response.json().data)
    const link = response.headers.link as string | undefined
    url = link === undefined ? null : /^<([^>]+)>/.exec(link)![1]!
  }
  return items
}

const csvRecord = (m: Message) => [m.message_id, m.from, m.to, m.ts, m.text]

test('export equals the paged /messages walk item for item, as NDJSON and as CSV, for every filter', async (t) => {
  const { app } = await build(t)
  await seed(app, sample(1300))
  for (const query of ['', 'from=%2B43', 'from=+43', 'from=%20%2B43%20', 'since=2025-01-20T10:00:00Z', 'q=CAFÉ', 'q=%2C', 'q=', 'q=%22',
    'from=+41&since=2025-01-10T00:00:00Z&q=line', 'q=nothing-matches']) {
    const expected = await walk(app, query)
    const ndjson = await app.inject(`/messages/export${query === '' ? '' : `?${query}`}`)
    assert.equal(ndjson.statusCode, 200, query)
    assert.equal(ndjson.headers['content-type'], 'application/x-ndjson')
    assert.equal(ndjson.headers['content-disposition'], 'attachment; filename="messages.ndjson"')
    const body = ndjson.body
    assert.ok(body === '' || body.endsWith('\n'), query)
    const lines = body === '' ? [] : body.slice(0, -1).split('\n')
    assert.equal(lines.length, expected.length, query)
    lines.forEach((line, i) => {
      const item = JSON.parse(line)
      assert.deepEqual(Object.keys(item), ['message_id', 'from', 'to', 'ts', 'text'])
      assert.deepEqual(item, expected[i], `${query} line ${i}`)
    })

    const csv = await app.inject(`/messages/export?format=csv${query === '' ? '' : `&${query}`}`)
    assert.equal(csv.statusCode, 200, csv.body)
    assert.equal(csv.headers['content-type'], 'text/csv; charset=utf-8')
    assert.equal(csv.headers['content-disposition'], 'attachment; filename="messages.csv"')
    const [header, ...records] = parseCsv(csv.body)
    assert.deepEqual(header, ['message_id', 'from', 'to', 'ts', 'text'])
    assert.deepEqual(records, expected.map(csvRecord), query)
  }
})

test('Accept: text/csv without format selects CSV; format wins over Accept; NDJSON otherwise', async (t) => {
  const { app } = await build(t)
  await seed(app, sample(3))
  const type = async (url: string, accept?: string) =>
    (await app.inject({ url, headers: accept === undefined ? {} : { accept } })).headers['content-type']
  assert.equal(await type('/messages/export', 'text/csv'), 'text/csv; charset=utf-8')
  assert.equal(await type('/messages/export', 'application/json, text/csv;q=0.5'), 'text/csv; charset=utf-8')
  assert.equal(await type('/messages/export', 'application/x-ndjson, text/csv;q=0.5'), 'application/x-ndjson')
  assert.equal(await type('/messages/export', 'text/csv;q=0'), 'application/x-ndjson')
  assert.equal(await type('/messages/export?format=ndjson', 'text/csv'), 'application/x-ndjson')
  assert.equal(await type('/messages/export?format=csv', 'application/x-ndjson'), 'text/csv; charset=utf-8')
  assert.equal(await type('/messages/export', '*/*'), 'application/x-ndjson')
  assert.equal(await type('/messages/export'), 'application/x-ndjson')
  // An empty store: CSV still has its header.
  const { app: empty } = await build(t)
  assert.equal((await empty.inject('/messages/export?format=csv')).body, 'message_id,from,to,ts,text\r\n')
  assert.equal((await empty.inject('/messages/export')).body, '')
})

test('the same 422s as /messages, and an unknown format', async (t) => {
  const { app } = await build(t)
  for (const [query, field] of [['since=yesterday', 'since'], ['since=2025-02-30T00:00:00Z', 'since'], ['format=xml', 'format']] as const) {
    const response = await app.inject(`/messages/export?${query}`)
    assert.equal(response.statusCode, 422, query)
    assert.deepEqual(response.json().detail.map((d: { loc: string[] }) => d.loc), [['query', field]], query)
  }
})

test('same token as /messages: 401 without it', async (t) => {
  const token = 'a-read-token-of-some-length'
  const { app } = await build(t, { READ_API_TOKEN: token })
  assert.equal((await app.inject('/messages/export')).statusCode, 401)
  assert.equal((await app.inject({ url: '/messages/export', headers: { authorization: `Bearer ${token}` } })).statusCode, 200)
})

test('OpenAPI documents both content types', async (t) => {
  const { app } = await build(t)
  const doc = (await app.inject('/docs/json')).json()
  const ok = doc.paths['/messages/export'].get.responses['200']
  assert.deepEqual(Object.keys(ok.content).sort(), ['application/x-ndjson', 'text/csv; charset=utf-8'])
  assert.ok(doc.paths['/messages/export'].get.responses['422'])
})

/** GET over a real socket, resolving once the headers arrived; the body is left paused for the caller. */
async function open (url: string): Promise<IncomingMessage> {
  const request = httpRequest(url)
  request.end()
  const [response] = await once(request, 'response') as [IncomingMessage]
  response.pause()
  return response
}

async function fileApp (t: TestContext) {
  const filename = join(tempDir(t), 'app.db')
  const { app } = await build(t, { DATABASE_URL: `sqlite:///${filename}` })
  const address = await app.listen({ port: 0, host: '127.0.0.1' })
  return { app, filename, address }
}

test('a paused export holds its snapshot while deliveries keep being acknowledged, and omits them', async (t) => {
  const { app, address } = await fileApp(t)
  const before = sample(6000)
  await seed(app, before)
  const response = await open(`${address}/messages/export`)
  const chunks: Buffer[] = []
  response.once('data', (chunk: Buffer) => { chunks.push(chunk); response.pause() })
  response.resume()
  await new Promise((resolve) => setTimeout(resolve, 50))
  assert.equal(chunks.length, 1, 'the first chunk arrived and the reader is paused')

  // The export is open and paused: new deliveries are acknowledged at once, one by one.
  for (let i = 0; i < 50; i++) {
    const started = performance.now()
    const ack = await deliver(app, { message_id: `new-${i}`, from: '+40', to: '+1', ts: '2025-01-15T10:00:00Z', text: 'late' })
    assert.equal(ack.statusCode, 200)
    assert.ok(performance.now() - started < 1000)
  }
  assert.equal((await app.inject('/messages?q=late')).json().total, 50)

  response.on('data', (chunk: Buffer) => chunks.push(chunk))
  response.resume()
  await once(response, 'end')
  const lines = Buffer.concat(chunks).toString('utf8').slice(0, -1).split('\n').map((line) => JSON.parse(line) as Message)
  assert.deepEqual(lines, await walk(app, 'since=2000-01-01T00:00:00Z').then((all) => all.filter((m) => !m.message_id.startsWith('new-'))))
  assert.equal(lines.length, before.length)
})

test('a client that disconnects mid-export releases the snapshot', async (t) => {
  const { app, filename, address } = await fileApp(t)
  // 12 MB of CSV, more than the kernel's socket buffers hold, so the export is still running when the
  // client stops reading.
  await seed(app, sample(3000).map((m) => ({ ...m, text: 'x'.repeat(4000) })))
  const response = await open(`${address}/messages/export?format=csv`)
  response.once('data', () => response.pause())
  response.resume()
  await once(response, 'data')
  await deliver(app, { message_id: 'after', from: '+40', to: '+1', ts: '2025-01-15T10:00:00Z' })

  const probe = new Database(filename, { timeout: 0 })
  t.after(() => probe.close())
  const truncate = () => (probe.pragma('wal_checkpoint(TRUNCATE)') as Array<{ busy: number }>)[0]!.busy
  assert.equal(truncate(), 1, 'the open export holds a snapshot')
  response.destroy()
  let busy = 1
  for (let i = 0; i < 100 && busy === 1; i++) {
    await new Promise((resolve) => setTimeout(resolve, 20))
    busy = truncate()
  }
  assert.equal(busy, 0, 'released once the client went away')
})

import assert from 'node:assert/strict'
import { once } from 'node:events'
import { connect, type Socket } from 'node:net'
import { test } from 'node:test'
import { sign } from '../../src/lib/signature.ts'
import { SECRET } from '../helper.ts'
import { testDatabaseUrl } from '../helpers/engine.ts'
import { startServer, type ServerProcess } from '../helpers/server-process.ts'
import { delivery, post } from '../helpers/live-client.ts'

// Real sockets against the real process: bodies over BODY_LIMIT are refused without being read whole,
// and clients that stall are cut off by the server's timeouts while everyone else is served.

interface RawExchange {
  socket: Socket
  /** Everything the server sent so far. */
  received: () => string
  closed: Promise<void>
}

async function open (server: ServerProcess): Promise<RawExchange> {
  const socket = connect(server.port, '127.0.0.1')
  await once(socket, 'connect')
  let data = ''
  socket.on('data', (chunk: Buffer) => { data += chunk.toString('latin1') })
  socket.on('error', () => {}) // a reset after the server gave up is expected
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()))
  return { socket, received: () => data, closed }
}

const within = <T>(promise: Promise<T>, ms: number, what: string) => Promise.race([
  promise,
  new Promise<never>((_resolve, reject) => setTimeout(() => reject(new Error(`${what}: nothing after ${ms} ms`)), ms).unref())
])

async function startOn (t: import('node:test').TestContext): Promise<ServerProcess> {
  const server = await startServer({ WEBHOOK_SECRET: SECRET, DATABASE_URL: await testDatabaseUrl(t), BODY_LIMIT: '65536' })
  t.after(() => server.kill())
  return server
}

test('a declared Content-Length over the limit: 413 at once, before any of the body is sent', async (t) => {
  const server = await startOn(t)
  const exchange = await open(server)
  exchange.socket.write('POST /webhook HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n' +
    `X-Signature: ${sign(SECRET, 'x')}\r\nContent-Length: 10737418240\r\n\r\n`)
  await within(exchange.closed, 10_000, 'no answer to a 10 GiB declaration')
  assert.match(exchange.received(), /^HTTP\/1\.1 413 /)
  assert.match(exchange.received(), /\{"detail":"payload too large"\}/)
  assert.equal((await post(server.url, delivery('after-413'))).status, 200)
})

test('a chunked body without length: 413 once the limit is crossed, long before the client is done', async (t) => {
  const server = await startOn(t)
  const exchange = await open(server)
  exchange.socket.write('POST /webhook HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n' +
    `X-Signature: ${sign(SECRET, 'x')}\r\nTransfer-Encoding: chunked\r\n\r\n`)
  // The client means to send 64 MiB, a thousand times the limit, but sends twice the limit and then
  // waits, body unfinished: the answer can only come from a server that stops at the limit. (Blasting
  // on while the server answers would also make its close reset the connection, dropping the 413.)
  const chunk = Buffer.alloc(16 * 1024, 0x20)
  for (let sent = 0; sent < 2 * 65536; sent += chunk.length) {
    exchange.socket.write(`${chunk.length.toString(16)}\r\n`)
    exchange.socket.write(chunk)
    exchange.socket.write('\r\n')
  }
  await within(exchange.closed, 30_000, 'no 413 and no close while the body was unfinished')
  assert.match(exchange.received(), /^HTTP\/1\.1 413 /)
  assert.match(exchange.received(), /\{"detail":"payload too large"\}/)
  assert.equal((await post(server.url, delivery('after-chunked'))).status, 200)
})

test('stalled clients (headers never finished, body never finished) are cut off; others are served meanwhile', async (t) => {
  const server = await startOn(t)
  const stalledHeaders = await Promise.all(Array.from({ length: 20 }, () => open(server)))
  for (const exchange of stalledHeaders) exchange.socket.write('POST /webhook HTTP/1.1\r\nHost: x\r\nX-Slow: ')
  const payload = delivery('stalled-body')
  const stalledBody = await open(server)
  stalledBody.socket.write(`POST /webhook HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nX-Signature: ${sign(SECRET, payload)}\r\n` +
    `Content-Length: ${payload.length}\r\n\r\n${payload.slice(0, 10)}`)

  // While they hang, everybody else gets answers.
  for (let i = 0; i < 5; i++) assert.equal((await post(server.url, delivery(`served-${i}`))).status, 200)

  // headersTimeout (10 s) and requestTimeout (30 s), checked every 2 s; bounded wait, no timing asserted.
  await within(Promise.all(stalledHeaders.map((e) => e.closed)), 60_000, 'stalled headers still open')
  await within(stalledBody.closed, 60_000, 'stalled body still open')
  assert.match(stalledBody.received(), /^HTTP\/1\.1 408 /, 'the stalled body is answered 408, not just cut')
  assert.equal((await post(server.url, delivery('after-stalls'))).status, 200)
  const page = await (await fetch(`${server.url}/messages?limit=100`)).json() as { data: Array<{ message_id: string }> }
  const ids = page.data.map((m) => m.message_id)
  assert.equal(ids.includes('stalled-body'), false, 'a body that never finished is not stored')
})

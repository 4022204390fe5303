import assert from 'node:assert/strict'
import { request as httpRequest } from 'node:http'
import { connect } from 'node:net'
import { test } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'
import { sign } from '../../src/lib/signature.ts'
import { message } from '../helper.ts'
import { startServer } from '../helpers/server-process.ts'

const SECRET = 'logs-test-secret-0d6f3a'
const ISO_8601 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/
const LEVELS = new Set(['trace', 'debug', 'info', 'warn', 'error', 'fatal'])

interface Sent {
  method: string
  url: string
  status: number
  /** The X-Request-Id the response carried. */
  requestId: string
  /** What the access line must also say (webhook fields), or must not carry (undefined). */
  extra?: Record<string, unknown>
  /** Acceptable levels for this status. */
  levels: string[]
}

interface Response { status: number, headers: Record<string, string | string[] | undefined> }

/** node:http, because fetch refuses some of the hostile headers we want to send. */
function send (base: string, method: string, url: string, headers: Record<string, string> = {}, body?: string): Promise<Response> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(`${base}${url}`, { method, headers, timeout: 10_000 }, (res) => {
      res.resume()
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers }))
    })
    req.on('timeout', () => req.destroy(new Error(`timeout: ${method} ${url}`)))
    req.on('error', reject)
    req.end(body)
  })
}

/** Bytes straight onto a socket: for header values no HTTP client will send. */
async function sendRaw (port: number, text: string): Promise<string> {
  const socket = connect(port, '127.0.0.1')
  let answer = ''
  socket.on('data', (chunk) => { answer += chunk.toString('latin1') })
  socket.on('error', () => {})
  socket.write(text, 'latin1')
  await Promise.race([new Promise((resolve) => socket.once('close', resolve)), sleep(5_000, undefined, { ref: false })])
  socket.destroy()
  return answer
}

test('a spawned server prints only JSON lines: one access line per request, with every field, and no secrets', { timeout: 90_000 }, async (t) => {
  const server = await startServer({ WEBHOOK_SECRET: SECRET, DATABASE_URL: 'sqlite::memory:', BODY_LIMIT: '400', LOG_LEVEL: 'info' })
  t.after(() => server.kill())
  // Our own copy of stdout from here on, read to its end: the helper's copy is cut at the 'exit' event,
  // which can fire before the pipe is drained. The lines before now are whole (pino writes line by line).
  const before = [...server.stdout]
  const chunks: Buffer[] = []
  server.child.stdout.on('data', (chunk: Buffer) => { chunks.push(chunk) })
  const drained = new Promise((resolve) => server.child.stdout.once('end', resolve))
  const sent: Sent[] = []
  const signatures: string[] = []

  async function webhook (body: string, headers: Record<string, string>, status: number, extra: Record<string, unknown>, levels: string[]) {
    const all: Record<string, string> = { 'content-type': 'application/json', ...headers }
    if (all['x-signature'] !== undefined) signatures.push(all['x-signature'])
    const response = await send(server.url, 'POST', '/webhook', all, body)
    assert.equal(response.status, status, body.slice(0, 80))
    sent.push({ method: 'POST', url: '/webhook', status, requestId: String(response.headers['x-request-id']), extra, levels })
    return response
  }
  async function call (method: string, url: string, status: number, headers: Record<string, string> = {}, levels = ['info']) {
    const response = await send(server.url, method, url, headers)
    assert.equal(response.status, status, `${method} ${url}`)
    sent.push({ method, url, status, requestId: String(response.headers['x-request-id']), levels })
    return response
  }

  const first = JSON.stringify(message({ message_id: 'log-m1' }))
  const created = await webhook(first, { 'x-signature': sign(SECRET, first), 'x-request-id': 'client-id-1' }, 200,
    { message_id: 'log-m1', dup: false, result: 'created' }, ['info'])
  assert.equal(created.headers['x-request-id'], 'client-id-1', 'a safe X-Request-Id is echoed as sent')
  await webhook(first, { 'x-signature': sign(SECRET, first).toUpperCase() }, 200,
    { message_id: 'log-m1', dup: true, result: 'duplicate' }, ['info'])
  await webhook(first, { 'x-signature': 'f'.repeat(64), 'x-request-id': 'client-id-401' }, 401,
    { dup: false, result: 'invalid_signature' }, ['error'])
  await webhook(first, {}, 401, { dup: false, result: 'invalid_signature' }, ['error'])
  const big = JSON.stringify(message({ message_id: 'log-big', text: 'x'.repeat(500) }))
  await webhook(big, { 'x-signature': sign(SECRET, big) }, 413, { dup: false, result: 'payload_too_large' }, ['warn', 'info'])
  await webhook(first, { 'x-signature': sign(SECRET, first), 'content-type': 'text/plain' }, 415,
    { dup: false, result: 'unsupported_media_type' }, ['warn', 'info'])
  const invalid = JSON.stringify(message({ message_id: 'log-bad', from: 'not-a-number' }))
  await webhook(invalid, { 'x-signature': sign(SECRET, invalid) }, 422,
    { message_id: 'log-bad', dup: false, result: 'validation_error' }, ['warn', 'info'])
  await webhook('{not json', { 'x-signature': sign(SECRET, '{not json') }, 422, { dup: false, result: 'validation_error' }, ['warn', 'info'])

  await call('GET', '/messages?limit=2&q=secret', 200, { 'x-request-id': 'trace.abc:123/XYZ=' })
  await call('GET', '/stats', 200)
  await call('GET', '/metrics', 200)
  await call('GET', '/no/such/route?x=1', 404, {}, ['warn', 'info'])
  const notAllowed = await call('PUT', '/webhook', 405, {}, ['warn', 'info'])
  assert.equal(notAllowed.headers.allow, 'POST')

  // Unsafe ids are replaced by generated ones, never echoed or logged.
  const hostile = {
    long: 'a'.repeat(4000),
    'json injection': '"}{"level":"fatal","msg":"forged',
    space: 'two words',
    tab: 'tab\there',
    latin1: 'caf\u00e9'
  }
  for (const [name, id] of Object.entries(hostile)) {
    const response = await call('GET', '/stats', 200, { 'x-request-id': id })
    const echoed = String(response.headers['x-request-id'])
    assert.notEqual(echoed, id, name)
    assert.match(echoed, /^[0-9a-f-]{36}$/, name)
  }
  // A newline cannot even reach the app: Node's HTTP parser refuses the request with 400.
  const injected = await sendRaw(server.port, 'GET /stats HTTP/1.1\r\nHost: x\r\nX-Request-Id: abc\nX-Forged: {"level":"fatal"}\r\nConnection: close\r\n\r\n')
  assert.match(injected, /^HTTP\/1\.1 400 /)
  assert.ok(!injected.includes('X-Forged'))

  // SIGTERM: tsx passes it on; the server drains, logs its shutdown and exits 0.
  server.child.kill('SIGTERM')
  const code = await Promise.race([server.exited, sleep(30_000, undefined, { ref: false }).then(() => 'still running after 30 s')])
  assert.equal(code, 0, server.stderr.join(''))
  await Promise.race([drained, sleep(5_000, undefined, { ref: false })])
  const stdout = [...before, ...Buffer.concat(chunks).toString('utf8').split('\n')]

  const output = stdout.join('\n') + server.stderr.join('')
  assert.ok(!output.includes(SECRET), 'the secret appears in the output')
  for (const signature of signatures) {
    assert.ok(!output.toLowerCase().includes(signature.toLowerCase()), `signature ${signature} appears in the output`)
  }
  assert.ok(!output.includes('X-Forged') && !output.includes('forged'), 'a forged line got through')

  const lines = stdout.filter((line) => line !== '').map((line, i) => {
    try {
      return JSON.parse(line) as Record<string, unknown>
    } catch {
      throw new Error(`stdout line ${i + 1} is not JSON: ${line}`)
    }
  })
  for (const line of lines) {
    assert.match(String(line.ts), ISO_8601, JSON.stringify(line))
    assert.ok(LEVELS.has(String(line.level)), `level ${line.level}`)
  }
  assert.ok(lines.some((line) => String(line.msg).includes('listening')), 'startup line')
  assert.ok(lines.some((line) => line.msg === 'shutdown complete'), 'shutdown line')

  // Exactly one access line per request; the readiness probes of startServer are the only others.
  const access = lines.filter((line) => line.msg === 'request completed')
  const probes = access.filter((line) => line.path === '/health/live')
  assert.ok(probes.length >= 1)
  assert.equal(access.length - probes.length, sent.length)
  const ids = access.map((line) => line.request_id)
  assert.equal(new Set(ids).size, ids.length, 'request ids are unique')

  for (const request of sent) {
    const matching = access.filter((line) => line.request_id === request.requestId)
    assert.equal(matching.length, 1, `${request.method} ${request.url}: ${matching.length} lines for ${request.requestId}`)
    const line = matching[0]!
    const label = `${request.method} ${request.url} → ${request.status}`
    assert.equal(line.method, request.method, label)
    assert.equal(line.path, request.url.split('?')[0], label)
    assert.equal(line.status, request.status, label)
    assert.equal(typeof line.latency_ms, 'number', label)
    assert.ok((line.latency_ms as number) >= 0, label)
    assert.ok(request.levels.includes(String(line.level)), `${label} logged at ${line.level}`)
    if (request.url === '/webhook' && request.method === 'POST') {
      const { message_id: messageId, dup, result } = line
      assert.deepEqual({ message_id: messageId, dup, result }, { message_id: undefined, ...request.extra }, label)
    } else {
      assert.equal(line.result, undefined, label)
    }
  }
})

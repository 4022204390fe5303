import assert from 'node:assert/strict'
import { once } from 'node:events'
import { connect } from 'node:net'
import { test } from 'node:test'
import { build } from '../helper.ts'

// Requests Node's HTTP parser refuses never reach a route; src/client-error.ts answers them. Only a real
// socket shows this: app.inject() skips the parser.

/** Writes raw bytes to the listening app and returns everything it answered before closing. */
async function raw (port: number, bytes: string): Promise<string> {
  const socket = connect(port, '127.0.0.1')
  await once(socket, 'connect')
  let received = ''
  socket.on('data', (chunk) => { received += chunk.toString('latin1') })
  socket.on('error', () => {})
  socket.write(bytes)
  await once(socket, 'close')
  return received
}

const cases: Array<[string, string, number, string]> = [
  ['a header line without a colon', 'GET /health/live HTTP/1.1\r\nHost: x\r\nNot a header\r\n\r\n', 400, 'bad request'],
  ['a broken request line', 'GARBAGE\r\n\r\n', 400, 'bad request'],
  ['Content-Length and chunked together', 'POST /webhook HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n', 400, 'bad request'],
  ['headers over the 16 KiB limit', `GET /health/live HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`, 431, 'request header fields too large']
]

for (const [name, bytes, status, detail] of cases) {
  test(`${name}: ${status} {"detail":"${detail}"} with a request id, one JSON log line, then the connection closes`, async (t) => {
    const { app, logs } = await build(t, { LOG_LEVEL: 'warn' })
    await app.listen({ port: 0, host: '127.0.0.1' })
    const { port } = app.server.address() as { port: number }

    const response = await raw(port, bytes)
    const [head = '', body] = response.split('\r\n\r\n')
    assert.match(head, new RegExp(`^HTTP/1\\.1 ${status} `))
    assert.match(head, /\r\ncontent-type: application\/json/i)
    const requestId = /\r\nx-request-id: (\S+)/i.exec(head)?.[1]
    assert.ok(requestId, head)
    assert.deepEqual(JSON.parse(body ?? ''), { detail })

    const lines = logs.filter((line) => line.request_id === requestId)
    assert.equal(lines.length, 1, JSON.stringify(logs))
    assert.equal(lines[0]!.level, 'warn')
    assert.equal(lines[0]!.status, status)

    // The server goes on serving.
    assert.equal((await fetch(`http://127.0.0.1:${port}/health/live`)).status, 200)
  })
}

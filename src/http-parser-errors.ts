import { STATUS_CODES } from 'node:http'
import type { Socket } from 'node:net'
import type { FastifyInstance } from 'fastify'
import { requestIdFrom } from './lib/request-id.ts'

/** Node's parser errors that are the client's fault, by code; anything else is a 400. */
const ANSWERS: Readonly<Record<string, { status: number, detail: string }>> = {
  ERR_HTTP_REQUEST_TIMEOUT: { status: 408, detail: 'request timeout' },
  HPE_HEADER_OVERFLOW: { status: 431, detail: 'request header fields too large' }
}
const BAD_REQUEST = { status: 400, detail: 'bad request' }

/**
 * Requests Node's HTTP parser refuses (malformed request line or headers, oversized headers, a header
 * timeout) never reach Fastify's routes, hooks or error handler. This answers them in the contract's
 * shape, `{"detail":…}` with an X-Request-Id, and logs them as one JSON line like any other request,
 * instead of Fastify's default body and no line.
 * https://fastify.dev/docs/latest/Reference/Server/#clienterrorhandler
 */
export function clientErrorHandler (this: FastifyInstance, error: Error & { code?: string }, socket: Socket): void {
  // A reset connection or a socket already gone: nobody to answer.
  if (error.code === 'ECONNRESET' || socket.destroyed) return
  const { status, detail } = ANSWERS[error.code ?? ''] ?? BAD_REQUEST
  const requestId = requestIdFrom(undefined)
  this.log.warn({ request_id: requestId, status, error_code: error.code ?? null, remote_address: socket.remoteAddress ?? null },
    'request refused by the HTTP parser')
  if (socket.writable) {
    const body = JSON.stringify({ detail })
    socket.write(`HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nContent-Type: application/json; charset=utf-8\r\n` +
      `Content-Length: ${Buffer.byteLength(body)}\r\nX-Request-Id: ${requestId}\r\nConnection: close\r\n\r\n${body}`)
  }
  socket.destroy()
}

import fp from 'fastify-plugin'
import type { Logger } from 'pino'
import { timestamp } from '../../logger.ts'

type Level = 'info' | 'warn' | 'error'

function levelFor (status: number): Level {
  if (status >= 500 || status === 401) return 'error'
  return status >= 400 ? 'warn' : 'info'
}

export interface AccessLogOptions {
  /** Where the app's logger writes (pino's destination): the access line goes there directly. */
  destination: { write (line: string): unknown }
}

/** A field of the line as pino writes it: `,"key":value`, nothing for undefined. */
function field (key: string, value: unknown): string {
  if (value === undefined) return ''
  return `,"${key}":${typeof value === 'number' && !Number.isFinite(value) ? 'null' : JSON.stringify(value)}`
}

/**
 * One JSON line per request, written when the response is done (Fastify's own request logging is
 * off). The request id comes from X-Request-Id when it is safe (see lib/request-id.ts) and is echoed
 * back, so a caller can find its line. Ingest routes add their outcome (plugins/app/ingest-outcome.ts).
 *
 * The line is the one `request.log[level]({ method, path, status, latency_ms, ...ingest }, 'request
 * completed')` printed (same keys in the same order, the logger's own `ts`, level check and
 * destination), built as one string: going through the request's child logger cost a pino object
 * serialisation per request, the hot path's dearest log work.
 */
export default fp<AccessLogOptions>(async (fastify, options) => {
  const destination = options.destination
  // The app's logger is pino (app.ts); Fastify's type only names the log methods.
  const logger = fastify.log as unknown as Pick<Logger, 'isLevelEnabled'>
  // Callback hooks, not async ones: no promise per request on the hot path.
  fastify.addHook('onRequest', (request, reply, done) => {
    reply.header('x-request-id', request.id)
    done()
  })

  fastify.addHook('onResponse', (request, reply, done) => {
    const status = reply.statusCode
    const level = levelFor(status)
    if (logger.isLevelEnabled(level)) {
      const url = request.url
      const queryStart = url.indexOf('?')
      let line = `{"level":"${level}"${timestamp()},"request_id":${JSON.stringify(request.id)},"method":${JSON.stringify(request.method)}` +
        `,"path":${JSON.stringify(queryStart === -1 ? url : url.slice(0, queryStart))},"status":${status}` +
        `,"latency_ms":${Math.round(reply.elapsedTime * 1000) / 1000}`
      const ingest = request.ingest
      if (ingest !== null) {
        for (const key in ingest) line += field(key, ingest[key as keyof typeof ingest])
      }
      destination.write(line + ',"msg":"request completed"}\n')
    }
    done()
  })
}, { name: 'access-log', dependencies: ['ingest-outcome'] })

import pino, { type DestinationStream, type LoggerOptions } from 'pino'

/**
 * One JSON object per line on stdout: `ts` as ISO-8601, `level` as a word, and never the signature
 * header or the secret, even if a future log call passes whole headers or the config.
 * https://getpino.io/#/docs/api?id=options
 */
export function loggerOptions (level: string): LoggerOptions {
  return {
    level,
    base: null,
    messageKey: 'msg',
    timestamp: () => `,"ts":"${new Date().toISOString()}"`,
    formatters: { level: (label) => ({ level: label }) },
    redact: {
      paths: [
        'req.headers["x-signature"]',
        'headers["x-signature"]',
        'req.headers.authorization',
        'headers.authorization',
        'config.webhookSecret',
        'webhookSecret',
        'WEBHOOK_SECRET'
      ],
      censor: '[redacted]'
    }
  }
}

/**
 * Standard output, written asynchronously: a line is queued and written by libuv while the event loop
 * goes on, and lines queued during one write leave together in the next. A synchronous write per
 * request line cost a third of the webhook throughput (README, performance). The queue is flushed
 * synchronously when the process exits (pino registers that), so exit paths and SIGTERM keep every
 * line; only a kill -9 can lose the lines still queued, never more than one write's worth under load.
 * https://getpino.io/#/docs/asynchronous
 */
export function stdoutDestination (): DestinationStream {
  return pino.destination({ dest: 1, sync: false })
}

import type { LoggerOptions } from 'pino'

/** pino's `timestamp` option: the `ts` field as it appears in a line, comma first. */
export const timestamp = (): string => `,"ts":"${new Date().toISOString()}"`

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
    timestamp,
    formatters: { level: (label) => ({ level: label }) },
    redact: {
      paths: [
        'req.headers["x-signature"]',
        'headers["x-signature"]',
        'req.headers.authorization',
        'headers.authorization',
        'config.webhookSecret',
        'webhookSecret',
        'WEBHOOK_SECRET',
        // The providers' signature headers and the rotation keys.
        ...['webhook-signature', 'x-hub-signature-256', 'x-twilio-signature'].flatMap((name) => [`req.headers["${name}"]`, `headers["${name}"]`]),
        'config.webhookSecrets',
        'config.standardWebhooks',
        'config.whatsapp',
        'config.twilio'
      ],
      censor: '[redacted]'
    }
  }
}

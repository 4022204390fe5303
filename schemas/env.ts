import { Type, type Static } from './typebox.ts'

/** The only value that turns on the unsafe acknowledge-before-commit mode: long so nobody types it by accident. */
export const UNSAFE_ACK_CONFIRMATION = 'i-accept-losing-acknowledged-messages'

const RATE_PATTERN = '^[1-9]\\d{0,8}(?:/(?:second|minute|hour))?$'

/** A `…_PREVIOUS` rotation list: older secrets still accepted while senders switch over. */
const previous = (older: string, current: string) => Type.Optional(Type.String({
  description: `unset, or up to 10 older ${older}, comma-separated, still accepted during a rotation; needs ${current}`
}))

/**
 * The process environment hookvault reads. Every value arrives as a string; config.ts turns the
 * validated strings into a typed, frozen Config. Each description doubles as the "accepted form"
 * printed when a value is refused.
 */
export const Env = Type.Object({
  WEBHOOK_SECRET: Type.String({
    minLength: 1,
    description: 'a non-empty string: the HMAC-SHA256 key providers sign with'
  }),
  DATABASE_URL: Type.String({
    default: 'sqlite:///./data/app.db',
    description: 'sqlite:////abs/path.db, sqlite:///rel/path.db, sqlite+aiosqlite://…, sqlite::memory:, ' +
      'or postgres://user:password@host:5432/db (also postgresql://; ?host=/socket/dir, sslmode=…)'
  }),
  DATABASE_POOL_MAX: Type.String({
    default: '10',
    pattern: '^[1-9]\\d{0,3}$',
    description: 'a positive integer (at most 9999): PostgreSQL connections per process'
  }),
  PORT: Type.String({ default: '8000', pattern: '^\\d{1,5}$', description: 'an integer from 0 to 65535' }),
  HOST: Type.String({ default: '0.0.0.0', minLength: 1, description: 'an interface address such as 0.0.0.0, 127.0.0.1 or ::' }),
  LOG_LEVEL: Type.String({
    default: 'info',
    pattern: '^(?:[dD][eE][bB][uU][gG]|[iI][nN][fF][oO]|[wW][aA][rR][nN]|[eE][rR][rR][oO][rR])$',
    description: 'one of debug, info, warn, error (any case)'
  }),
  BODY_LIMIT: Type.String({ default: '1048576', pattern: '^[1-9]\\d{0,9}$', description: 'a positive integer number of bytes' }),
  // Secret rotation and real providers. Rotation lists, base64 and URLs are checked in
  // config.ts, which can say what is wrong without echoing a secret.
  WEBHOOK_SECRET_PREVIOUS: previous('WEBHOOK_SECRET values', 'WEBHOOK_SECRET'),
  STANDARD_WEBHOOKS_SECRET: Type.Optional(Type.String({
    description: 'unset, or whsec_ followed by the base64 key (Standard Webhooks); POST /webhook then also accepts webhook-signature'
  })),
  STANDARD_WEBHOOKS_SECRET_PREVIOUS: previous('whsec_<base64> secrets', 'STANDARD_WEBHOOKS_SECRET'),
  STANDARD_WEBHOOKS_TOLERANCE_S: Type.String({
    default: '300',
    pattern: '^[1-9]\\d{0,8}$',
    description: 'a positive integer: how many seconds webhook-timestamp may be behind or ahead of the server clock'
  }),
  WHATSAPP_APP_SECRET: Type.Optional(Type.String({
    description: 'unset (no WhatsApp routes), or the Meta app secret that signs X-Hub-Signature-256; needs WHATSAPP_VERIFY_TOKEN'
  })),
  WHATSAPP_APP_SECRET_PREVIOUS: previous('Meta app secrets', 'WHATSAPP_APP_SECRET'),
  WHATSAPP_VERIFY_TOKEN: Type.Optional(Type.String({
    description: 'the token Meta sends in hub.verify_token when subscribing; required with WHATSAPP_APP_SECRET'
  })),
  TWILIO_AUTH_TOKEN: Type.Optional(Type.String({
    description: 'unset (no Twilio route), or the Twilio auth token that signs X-Twilio-Signature; needs PUBLIC_BASE_URL'
  })),
  TWILIO_AUTH_TOKEN_PREVIOUS: previous('Twilio auth tokens', 'TWILIO_AUTH_TOKEN'),
  PUBLIC_BASE_URL: Type.Optional(Type.String({
    description: 'scheme://host[:port][/prefix], the URL Twilio calls this service at (http or https, no query); ' +
      'required with TWILIO_AUTH_TOKEN'
  })),
  PROVIDER_BODY_LIMIT: Type.String({
    default: '3145728',
    pattern: '^[1-9]\\d{0,9}$',
    description: 'a positive integer number of bytes accepted on /webhooks/* (Meta sends up to 3 MB)'
  }),
  SHUTDOWN_GRACE_MS: Type.String({
    default: '10000',
    pattern: '^[1-9]\\d{0,6}$',
    description: 'a positive integer number of milliseconds to finish in-flight work after SIGTERM'
  }),
  SHUTDOWN_DRAIN_MS: Type.String({
    default: '0',
    pattern: '^\\d{1,6}$',
    description: 'a whole number of milliseconds, part of the grace period, during which /health/ready answers 503 ' +
      'while requests are still served, so load balancers stop routing here before the listener closes'
  }),
  PRESSURE_MAX_EVENT_LOOP_DELAY_MS: Type.String({
    default: '1000',
    pattern: '^[1-9]\\d{0,5}$',
    description: 'a positive integer: mean event-loop delay in ms over one second above which requests get 503 (load shedding)'
  }),
  READ_API_TOKEN: Type.Optional(Type.String({
    minLength: 16,
    description: 'unset (GET /messages and /stats are open), or a bearer token of at least 16 characters they then require'
  })),
  RATE_LIMIT_WEBHOOK: Type.Optional(Type.String({
    pattern: RATE_PATTERN,
    description: 'unset (no limit), or requests per client IP on POST /webhook: N (per minute) or N/second, N/minute, N/hour'
  })),
  RATE_LIMIT_READ: Type.Optional(Type.String({
    pattern: RATE_PATTERN,
    description: 'unset (no limit), or requests per client IP on GET /messages and /stats: N (per minute) or N/second, N/minute, N/hour'
  })),
  RETENTION_DAYS: Type.Optional(Type.String({
    pattern: '^[1-9]\\d{0,4}$',
    description: 'unset (keep messages forever), or a positive integer up to 99999: messages whose ts instant is older than ' +
      'that many days are deleted by a background sweep'
  })),
  RETENTION_SWEEP_INTERVAL_S: Type.String({
    default: '3600',
    pattern: '^[1-9]\\d{0,5}$',
    description: 'a positive integer number of seconds up to 999999 between retention sweeps (one also runs at start)'
  }),
  HOOKVAULT_UNSAFE_ACK_BEFORE_COMMIT: Type.Optional(Type.String({
    pattern: `^${UNSAFE_ACK_CONFIRMATION}$`,
    // The description (printed when the value is refused) does not spell the value out, on purpose.
    description: 'unset. A test-only switch that answers 200 before the commit and loses messages on a crash; ' +
      'README "Reliability" says when and how it may be set'
  }))
})
export type Env = Static<typeof Env>

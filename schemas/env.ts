import { Type, type Static } from './typebox.ts'

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
    description: 'sqlite:////abs/path.db, sqlite:///rel/path.db, sqlite+aiosqlite://… or sqlite::memory:'
  }),
  PORT: Type.String({ default: '8000', pattern: '^\\d{1,5}$', description: 'an integer from 0 to 65535' }),
  HOST: Type.String({ default: '0.0.0.0', minLength: 1, description: 'an interface address such as 0.0.0.0, 127.0.0.1 or ::' }),
  LOG_LEVEL: Type.String({
    default: 'info',
    pattern: '^(?:[dD][eE][bB][uU][gG]|[iI][nN][fF][oO]|[wW][aA][rR][nN]|[eE][rR][rR][oO][rR])$',
    description: 'one of debug, info, warn, error (any case)'
  }),
  BODY_LIMIT: Type.String({ default: '1048576', pattern: '^[1-9]\\d{0,9}$', description: 'a positive integer number of bytes' }),
  SHUTDOWN_GRACE_MS: Type.String({
    default: '10000',
    pattern: '^[1-9]\\d{0,6}$',
    description: 'a positive integer number of milliseconds to finish in-flight work after SIGTERM'
  })
})
export type Env = Static<typeof Env>

import { Env } from '../schemas/env.ts'
import { Value } from '../schemas/typebox.ts'
import { parseDatabaseUrl, withoutPassword, type DatabaseLocation } from './lib/database-url.ts'

export interface Config {
  readonly webhookSecret: string
  /** Where the data lives; for PostgreSQL it carries the pool size (DATABASE_POOL_MAX) too. */
  readonly database: DatabaseLocation
  readonly host: string
  readonly port: number
  readonly logLevel: 'debug' | 'info' | 'warn' | 'error'
  readonly bodyLimit: number
  readonly shutdownGraceMs: number
  /** After SIGTERM, how long readiness answers 503 while traffic is still served; part of the grace period. */
  readonly shutdownDrainMs: number
  /** Load shedding: mean event-loop delay (ms) above which requests get 503. */
  readonly maxEventLoopDelayMs: number
  /** The bearer token GET /messages and /stats require; null leaves them open. */
  readonly readApiToken: string | null
  /** Per client IP, per route group; null means no limit (the default). */
  readonly rateLimits: { readonly webhook: RateLimit | null, readonly read: RateLimit | null }
  /** Answer 200 before the commit, for the crash harness's self-test only: on only when confirmed verbatim. */
  readonly unsafeAckBeforeCommit: boolean
}

export interface RateLimit {
  readonly max: number
  readonly timeWindowMs: number
}

const WINDOW_MS: Readonly<Record<string, number>> = { second: 1_000, minute: 60_000, hour: 3_600_000 }

/** "100" (per minute), "100/second", "100/minute", "100/hour"; the Env pattern already checked the shape. */
function rateLimit (value: string | undefined): RateLimit | null {
  if (value === undefined) return null
  const [max, unit = 'minute'] = value.split('/')
  return Object.freeze({ max: Number(max), timeWindowMs: WINDOW_MS[unit]! })
}

/** A refused environment variable: names it, says what is wrong and what would be accepted. */
export class ConfigError extends Error {
  readonly variable: string
  readonly accepted: string

  constructor (variable: string, problem: string, accepted: string) {
    super(`${variable} ${problem}; expected ${accepted}`)
    this.name = 'ConfigError'
    this.variable = variable
    this.accepted = accepted
  }
}

type EnvName = keyof typeof Env.properties

const accepted = (name: EnvName): string => Env.properties[name].description ?? 'a valid value'

/** Describes a refused value without ever echoing the secret. */
function problemWith (name: EnvName, value: string | undefined): string {
  if (value === undefined || value === '') return 'is missing or empty'
  if (name === 'WEBHOOK_SECRET' || name === 'READ_API_TOKEN') return 'is invalid'
  return `has an invalid value ${JSON.stringify(value)}`
}

/** The only reader of process.env: validates every variable once and returns a frozen Config. */
export function loadConfig (env: NodeJS.ProcessEnv = process.env): Config {
  const raw: Record<string, string | undefined> = {}
  for (const name of Object.keys(Env.properties) as EnvName[]) {
    const value = env[name]
    // An empty optional variable means "use the default", as an unset one does.
    raw[name] = value === '' && name !== 'WEBHOOK_SECRET' ? undefined : value
  }
  const values = Value.Default(Env, raw) as Record<string, unknown>
  const firstError = Value.Errors(Env, values).First()
  if (firstError !== undefined) {
    const name = firstError.path.slice(1) as EnvName
    throw new ConfigError(name, problemWith(name, env[name]), accepted(name))
  }
  const valid = values as typeof Env.static

  const database = parseDatabaseUrl(valid.DATABASE_URL)
  if (database === null) {
    throw new ConfigError('DATABASE_URL', `has an unsupported value ${JSON.stringify(withoutPassword(valid.DATABASE_URL))}`, accepted('DATABASE_URL'))
  }
  if (Number(valid.SHUTDOWN_DRAIN_MS) >= Number(valid.SHUTDOWN_GRACE_MS)) {
    throw new ConfigError('SHUTDOWN_DRAIN_MS', `has the value ${valid.SHUTDOWN_DRAIN_MS}, not below SHUTDOWN_GRACE_MS (${valid.SHUTDOWN_GRACE_MS})`,
      'a drain shorter than the grace period it is part of')
  }
  const port = Number(valid.PORT)
  if (port > 65535) throw new ConfigError('PORT', problemWith('PORT', valid.PORT), accepted('PORT'))

  return Object.freeze({
    webhookSecret: valid.WEBHOOK_SECRET,
    database: Object.freeze(database.engine === 'postgres' ? { ...database, poolMax: Number(valid.DATABASE_POOL_MAX) } : database),
    host: valid.HOST,
    port,
    logLevel: valid.LOG_LEVEL.toLowerCase() as Config['logLevel'],
    bodyLimit: Number(valid.BODY_LIMIT),
    shutdownGraceMs: Number(valid.SHUTDOWN_GRACE_MS),
    shutdownDrainMs: Number(valid.SHUTDOWN_DRAIN_MS),
    maxEventLoopDelayMs: Number(valid.PRESSURE_MAX_EVENT_LOOP_DELAY_MS),
    readApiToken: valid.READ_API_TOKEN ?? null,
    rateLimits: Object.freeze({ webhook: rateLimit(valid.RATE_LIMIT_WEBHOOK), read: rateLimit(valid.RATE_LIMIT_READ) }),
    unsafeAckBeforeCommit: valid.HOOKVAULT_UNSAFE_ACK_BEFORE_COMMIT !== undefined
  })
}

import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { parseEnv } from 'node:util'
import { Env } from '../schemas/env.ts'
import { Value } from '../schemas/typebox.ts'
import { parseDatabaseUrl, withoutPassword, type DatabaseLocation } from './lib/database-url.ts'
import { parsePreviousKeys, type Keyring } from './lib/keyring.ts'
import { decodeSecret } from './providers/standard-webhooks.ts'
import { parsePublicBaseUrl } from './providers/twilio.ts'

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
  /** RETENTION_DAYS as a number (null: keep forever) and the sweep interval. */
  readonly retention: { readonly days: number | null, readonly sweepIntervalMs: number }
  /** Answer 200 before the commit, for the crash harness's self-test only: on only when confirmed verbatim. */
  readonly unsafeAckBeforeCommit: boolean
  // Rotation and real providers (null: that scheme is off and its routes do not exist).
  /** WEBHOOK_SECRET and WEBHOOK_SECRET_PREVIOUS: the X-Signature keys of POST /webhook. */
  readonly webhookSecrets: Keyring
  readonly standardWebhooks: StandardWebhooksConfig | null
  readonly whatsapp: WhatsAppConfig | null
  readonly twilio: TwilioConfig | null
  /** Bytes accepted on /webhooks/*. */
  readonly providerBodyLimit: number
}

export interface StandardWebhooksConfig {
  /** The decoded HMAC keys (the base64 after `whsec_`). */
  readonly keys: Keyring<Buffer>
  readonly toleranceS: number
}

export interface WhatsAppConfig {
  readonly appSecrets: Keyring
  readonly verifyToken: string
}

export interface TwilioConfig {
  readonly authTokens: Keyring
  /** PUBLIC_BASE_URL without a trailing slash. */
  readonly publicBaseUrl: string
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
const envNames = Object.keys(Env.properties) as EnvName[]

const accepted = (name: EnvName): string => (Env.properties[name] as { description?: string }).description ?? 'a valid value'

/** Variables whose values are never echoed in a refusal. */
const SECRET_VARIABLES: ReadonlySet<EnvName> = new Set<EnvName>([
  'WEBHOOK_SECRET', 'READ_API_TOKEN',
  'WEBHOOK_SECRET_PREVIOUS', 'STANDARD_WEBHOOKS_SECRET', 'STANDARD_WEBHOOKS_SECRET_PREVIOUS',
  'WHATSAPP_APP_SECRET', 'WHATSAPP_APP_SECRET_PREVIOUS', 'WHATSAPP_VERIFY_TOKEN', 'TWILIO_AUTH_TOKEN', 'TWILIO_AUTH_TOKEN_PREVIOUS'
])

/** Describes a refused value without ever echoing the secret. */
function problemWith (name: EnvName, value: string | undefined): string {
  if (value === undefined || value === '') return 'is missing or empty'
  if (SECRET_VARIABLES.has(name)) return 'is invalid'
  return `has an invalid value ${JSON.stringify(value)}`
}

/**
 * The process environment over the variables of `.env` in the working directory, when that file
 * exists: a real variable always wins, as with docker compose and `node --env-file`, so a deployment
 * can override any line of a developer's file. `cp .env.example .env && npm start` just works.
 * https://nodejs.org/api/util.html#utilparseenvcontent
 */
export function environment (cwd: string = process.cwd(), env: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  let content: string
  try {
    content = readFileSync(join(cwd, '.env'), 'utf8')
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return env
    throw new ConfigError('.env', `could not be read (${(error as NodeJS.ErrnoException).code ?? String(error)})`, 'a readable file of NAME=value lines, or no file')
  }
  return { ...parseEnv(content), ...env }
}

/** The only reader of process.env: validates every variable once and returns a frozen Config. */
export function loadConfig (env: NodeJS.ProcessEnv = process.env): Config {
  const raw: Record<string, string | undefined> = {}
  for (const name of envNames) {
    const value = env[name]
    // An empty optional variable means "use the default", as an unset one does.
    raw[name] = value === '' && name !== 'WEBHOOK_SECRET' ? undefined : value
  }
  const values = Value.Default(Env, raw)
  // TypeBox 1.x reports errors the way ajv does: a missing variable as one `required` error on the
  // object, any other problem at its `instancePath`. The first refused variable in Env's order is named.
  const refused = new Set(Value.Errors(Env, values).flatMap((error) =>
    error.keyword === 'required' ? error.params.requiredProperties : [error.instancePath.slice(1)]))
  const name = envNames.find((candidate) => refused.has(candidate))
  if (name !== undefined) throw new ConfigError(name, problemWith(name, env[name]), accepted(name))
  const valid = values as Env

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
  const providers = providerSettings(valid)

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
    retention: Object.freeze({
      days: valid.RETENTION_DAYS === undefined ? null : Number(valid.RETENTION_DAYS),
      sweepIntervalMs: Number(valid.RETENTION_SWEEP_INTERVAL_S) * 1000
    }),
    unsafeAckBeforeCommit: valid.HOOKVAULT_UNSAFE_ACK_BEFORE_COMMIT !== undefined,
    ...providers
  })
}

// Secret rotation and real providers. Refusals name the variable and never echo a value.

type ProviderSettings = Pick<Config, 'webhookSecrets' | 'standardWebhooks' | 'whatsapp' | 'twilio' | 'providerBodyLimit'>

/** A `…_PREVIOUS` list: refused when it has an empty item, more than 10, or no current secret beside it. */
function previousKeys (name: EnvName, value: string | undefined, current: string | undefined): string[] {
  if (value === undefined) return []
  const currentName = name.replace(/_PREVIOUS$/, '')
  if (current === undefined) throw new ConfigError(name, `is set without ${currentName}`, `${currentName} set too, or ${name} unset`)
  const parsed = parsePreviousKeys(value)
  if ('problem' in parsed) throw new ConfigError(name, parsed.problem, accepted(name))
  return parsed.keys
}

function keyring (name: EnvName, current: string, previousValue: string | undefined): Keyring {
  return Object.freeze({ current, previous: Object.freeze(previousKeys(name, previousValue, current)) })
}

function requiredWith (name: EnvName, value: string | undefined, needer: EnvName): string {
  if (value === undefined) throw new ConfigError(name, `is missing, and ${needer} needs it`, accepted(name))
  return value
}

function providerSettings (valid: Env): ProviderSettings {
  const webhookSecrets = keyring('WEBHOOK_SECRET_PREVIOUS', valid.WEBHOOK_SECRET, valid.WEBHOOK_SECRET_PREVIOUS)

  let standardWebhooks: StandardWebhooksConfig | null = null
  const swPrevious = previousKeys('STANDARD_WEBHOOKS_SECRET_PREVIOUS', valid.STANDARD_WEBHOOKS_SECRET_PREVIOUS, valid.STANDARD_WEBHOOKS_SECRET)
  if (valid.STANDARD_WEBHOOKS_SECRET !== undefined) {
    const decode = (name: EnvName, secret: string): Buffer => {
      const key = decodeSecret(secret)
      if (key === null) throw new ConfigError(name, 'is not whsec_ followed by base64', accepted(name))
      return key
    }
    standardWebhooks = Object.freeze({
      keys: Object.freeze({
        current: decode('STANDARD_WEBHOOKS_SECRET', valid.STANDARD_WEBHOOKS_SECRET),
        previous: Object.freeze(swPrevious.map((secret) => decode('STANDARD_WEBHOOKS_SECRET_PREVIOUS', secret)))
      }),
      toleranceS: Number(valid.STANDARD_WEBHOOKS_TOLERANCE_S)
    })
  }

  let whatsapp: WhatsAppConfig | null = null
  const waPrevious = previousKeys('WHATSAPP_APP_SECRET_PREVIOUS', valid.WHATSAPP_APP_SECRET_PREVIOUS, valid.WHATSAPP_APP_SECRET)
  if (valid.WHATSAPP_APP_SECRET !== undefined) {
    whatsapp = Object.freeze({
      appSecrets: Object.freeze({ current: valid.WHATSAPP_APP_SECRET, previous: Object.freeze(waPrevious) }),
      verifyToken: requiredWith('WHATSAPP_VERIFY_TOKEN', valid.WHATSAPP_VERIFY_TOKEN, 'WHATSAPP_APP_SECRET')
    })
  }

  let twilio: TwilioConfig | null = null
  const twPrevious = previousKeys('TWILIO_AUTH_TOKEN_PREVIOUS', valid.TWILIO_AUTH_TOKEN_PREVIOUS, valid.TWILIO_AUTH_TOKEN)
  if (valid.TWILIO_AUTH_TOKEN !== undefined) {
    const base = requiredWith('PUBLIC_BASE_URL', valid.PUBLIC_BASE_URL, 'TWILIO_AUTH_TOKEN')
    const publicBaseUrl = parsePublicBaseUrl(base)
    if (publicBaseUrl === null) throw new ConfigError('PUBLIC_BASE_URL', problemWith('PUBLIC_BASE_URL', base), accepted('PUBLIC_BASE_URL'))
    twilio = Object.freeze({
      authTokens: Object.freeze({ current: valid.TWILIO_AUTH_TOKEN, previous: Object.freeze(twPrevious) }),
      publicBaseUrl
    })
  }

  return { webhookSecrets, standardWebhooks, whatsapp, twilio, providerBodyLimit: Number(valid.PROVIDER_BODY_LIMIT) }
}

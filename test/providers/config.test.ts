import assert from 'node:assert/strict'
import { test } from 'node:test'
import { ConfigError, loadConfig } from '../../src/config.ts'
import { PROVIDERS_ENV, SW_SECRET } from '../helpers/providers.ts'

const BASE = { WEBHOOK_SECRET: 'current-secret' }
const secretLike = (n: number) => `older-secret-${n}`

function refused (env: Record<string, string>, variable: string, secrets: string[] = []) {
  assert.throws(() => loadConfig({ ...BASE, ...env }), (error: unknown) => {
    assert.ok(error instanceof ConfigError, String(error))
    assert.equal(error.variable, variable, error.message)
    assert.match(error.message, new RegExp(`^${variable} `))
    for (const secret of [...secrets, 'current-secret']) assert.ok(!error.message.includes(secret), `${error.message} echoes a secret`)
    return true
  }, JSON.stringify(env))
}

test('defaults: every provider off, rotation lists empty', () => {
  const config = loadConfig(BASE)
  assert.deepEqual(config.webhookSecrets, { current: 'current-secret', previous: [] })
  assert.equal(config.standardWebhooks, null)
  assert.equal(config.whatsapp, null)
  assert.equal(config.twilio, null)
  assert.equal(config.providerBodyLimit, 3145728)
})

test('every §11 variable, parsed', () => {
  const config = loadConfig({
    ...BASE,
    ...PROVIDERS_ENV,
    WEBHOOK_SECRET_PREVIOUS: 'a, b ,c',
    STANDARD_WEBHOOKS_SECRET_PREVIOUS: 'whsec_a2V5',
    STANDARD_WEBHOOKS_TOLERANCE_S: '60',
    WHATSAPP_APP_SECRET_PREVIOUS: 'old-app-secret',
    TWILIO_AUTH_TOKEN_PREVIOUS: 'old-token',
    PUBLIC_BASE_URL: 'https://hooks.example.com/prefix/',
    PROVIDER_BODY_LIMIT: '1000'
  })
  assert.deepEqual(config.webhookSecrets.previous, ['a', 'b', 'c'])
  assert.deepEqual(config.standardWebhooks, {
    keys: { current: Buffer.from(SW_SECRET.slice(6), 'base64'), previous: [Buffer.from('key')] }, toleranceS: 60
  })
  assert.deepEqual(config.whatsapp, { appSecrets: { current: 'TEST_APP_SECRET', previous: ['old-app-secret'] }, verifyToken: 'verify-me-please' })
  assert.deepEqual(config.twilio, { authTokens: { current: '12345', previous: ['old-token'] }, publicBaseUrl: 'https://hooks.example.com/prefix' })
  assert.equal(config.providerBodyLimit, 1000)
  assert.ok(Object.isFrozen(config.whatsapp) && Object.isFrozen(config.webhookSecrets.previous))
})

test('rotation lists: an empty item or more than 10 items is refused, naming the variable, never echoing a secret', () => {
  const ten = Array.from({ length: 10 }, (_, i) => secretLike(i))
  assert.equal(loadConfig({ ...BASE, WEBHOOK_SECRET_PREVIOUS: ten.join(',') }).webhookSecrets.previous.length, 10)
  refused({ WEBHOOK_SECRET_PREVIOUS: [...ten, secretLike(10)].join(',') }, 'WEBHOOK_SECRET_PREVIOUS', [...ten, secretLike(10)])
  for (const value of [`${secretLike(1)},,${secretLike(2)}`, `${secretLike(1)},`, ',', ` ${secretLike(1)} , `]) {
    refused({ WEBHOOK_SECRET_PREVIOUS: value }, 'WEBHOOK_SECRET_PREVIOUS', [secretLike(1), secretLike(2)])
  }
  refused({ WHATSAPP_APP_SECRET: 'app-secret-x', WHATSAPP_VERIFY_TOKEN: 'v', WHATSAPP_APP_SECRET_PREVIOUS: 'old-app-1,,old-app-2' },
    'WHATSAPP_APP_SECRET_PREVIOUS', ['app-secret-x', 'old-app-1', 'old-app-2'])
})

test('a _PREVIOUS without its current secret is refused', () => {
  refused({ STANDARD_WEBHOOKS_SECRET_PREVIOUS: 'whsec_a2V5' }, 'STANDARD_WEBHOOKS_SECRET_PREVIOUS', ['whsec_a2V5'])
  refused({ WHATSAPP_APP_SECRET_PREVIOUS: 'old-app-secret' }, 'WHATSAPP_APP_SECRET_PREVIOUS', ['old-app-secret'])
  refused({ TWILIO_AUTH_TOKEN_PREVIOUS: 'old-token-value' }, 'TWILIO_AUTH_TOKEN_PREVIOUS', ['old-token-value'])
})

test('Standard Webhooks secrets need whsec_ and base64, the previous ones too', () => {
  refused({ STANDARD_WEBHOOKS_SECRET: 'MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw' }, 'STANDARD_WEBHOOKS_SECRET', ['MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw'])
  refused({ STANDARD_WEBHOOKS_SECRET: 'whsec_not*base64' }, 'STANDARD_WEBHOOKS_SECRET', ['not*base64'])
  refused({ STANDARD_WEBHOOKS_SECRET: SW_SECRET, STANDARD_WEBHOOKS_SECRET_PREVIOUS: 'whsec_a2V5,plain-old-secret' },
    'STANDARD_WEBHOOKS_SECRET_PREVIOUS', ['plain-old-secret', SW_SECRET])
  for (const value of ['0', '-5', 'ten', '1.5']) refused({ STANDARD_WEBHOOKS_TOLERANCE_S: value }, 'STANDARD_WEBHOOKS_TOLERANCE_S')
})

test('providers need their companions: verify token, public URL; and a valid URL and body limit', () => {
  refused({ WHATSAPP_APP_SECRET: 'app-secret-y' }, 'WHATSAPP_VERIFY_TOKEN', ['app-secret-y'])
  refused({ TWILIO_AUTH_TOKEN: 'token-value-z' }, 'PUBLIC_BASE_URL', ['token-value-z'])
  for (const url of ['example.com', 'https://example.com?x=1', 'ftp://example.com', 'https://example.com:70000']) {
    refused({ TWILIO_AUTH_TOKEN: 'token-value-z', PUBLIC_BASE_URL: url }, 'PUBLIC_BASE_URL', ['token-value-z'])
  }
  for (const value of ['0', '3MB']) refused({ PROVIDER_BODY_LIMIT: value }, 'PROVIDER_BODY_LIMIT')
  // The verify token is a secret too: its refusals never echo it (an empty one means unset here).
  refused({ WHATSAPP_APP_SECRET: 'app-secret-y', WHATSAPP_VERIFY_TOKEN: '' }, 'WHATSAPP_VERIFY_TOKEN', ['app-secret-y'])
})

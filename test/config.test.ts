import assert from 'node:assert/strict'
import { test } from 'node:test'
import { ConfigError, loadConfig } from '../src/config.ts'

test('defaults', () => {
  const config = loadConfig({ WEBHOOK_SECRET: 's' })
  assert.equal(config.port, 8000)
  assert.equal(config.host, '0.0.0.0')
  assert.equal(config.logLevel, 'info')
  assert.equal(config.bodyLimit, 1048576)
  assert.equal(config.shutdownGraceMs, 10000)
  assert.equal(config.shutdownDrainMs, 0)
  assert.deepEqual(config.database, { engine: 'sqlite', filename: './data/app.db' })
  assert.equal(Object.isFrozen(config), true)
})

test('values are parsed; LOG_LEVEL is case-insensitive', () => {
  const config = loadConfig({ WEBHOOK_SECRET: 's', PORT: '9000', HOST: '127.0.0.1', LOG_LEVEL: 'WARN', BODY_LIMIT: '10', DATABASE_URL: 'sqlite+aiosqlite:///x/y.db' })
  assert.equal(config.port, 9000)
  assert.equal(config.logLevel, 'warn')
  assert.equal(config.bodyLimit, 10)
  assert.deepEqual(config.database, { engine: 'sqlite', filename: 'x/y.db' })
})

test('each invalid variable is refused with its name, its problem and the accepted form', () => {
  const cases: Array<[Record<string, string>, string]> = [
    [{}, 'WEBHOOK_SECRET'],
    [{ WEBHOOK_SECRET: '' }, 'WEBHOOK_SECRET'],
    [{ WEBHOOK_SECRET: 's', DATABASE_URL: 'mysql://localhost/db' }, 'DATABASE_URL'],
    [{ WEBHOOK_SECRET: 's', PORT: 'eighty' }, 'PORT'],
    [{ WEBHOOK_SECRET: 's', PORT: '70000' }, 'PORT'],
    [{ WEBHOOK_SECRET: 's', LOG_LEVEL: 'verbose' }, 'LOG_LEVEL'],
    [{ WEBHOOK_SECRET: 's', BODY_LIMIT: '0' }, 'BODY_LIMIT'],
    [{ WEBHOOK_SECRET: 's', BODY_LIMIT: '1kb' }, 'BODY_LIMIT'],
    [{ WEBHOOK_SECRET: 's', SHUTDOWN_DRAIN_MS: '-1' }, 'SHUTDOWN_DRAIN_MS'],
    [{ WEBHOOK_SECRET: 's', SHUTDOWN_DRAIN_MS: '10000' }, 'SHUTDOWN_DRAIN_MS'],
    [{ WEBHOOK_SECRET: 's', SHUTDOWN_GRACE_MS: '500', SHUTDOWN_DRAIN_MS: '600' }, 'SHUTDOWN_DRAIN_MS']
  ]
  for (const [env, variable] of cases) {
    assert.throws(() => loadConfig(env), (error: unknown) => {
      assert.ok(error instanceof ConfigError)
      assert.equal(error.variable, variable)
      assert.match(error.message, new RegExp(`^${variable} `))
      assert.ok(error.accepted.length > 5)
      return true
    }, JSON.stringify(env))
  }
})

test('a refused DATABASE_URL is echoed without its password', () => {
  assert.throws(() => loadConfig({ WEBHOOK_SECRET: 's', DATABASE_URL: 'postgres://app:hunter2@/db' }), (error: Error) =>
    error instanceof ConfigError && error.message.includes('postgres://app:***@/db') && !error.message.includes('hunter2'))
})

test('the secret value never appears in an error message', () => {
  assert.throws(() => loadConfig({ WEBHOOK_SECRET: 'super-secret-value', PORT: 'x' }), (error: Error) => !error.message.includes('super-secret-value'))
})

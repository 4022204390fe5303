import assert from 'node:assert/strict'
import { test } from 'node:test'
import { build, deliver, message } from '../helper.ts'

test('rate limiting is off by default: a burst on both groups is never answered 429', async (t) => {
  const { app } = await build(t)
  for (let i = 0; i < 150; i++) {
    assert.equal((await deliver(app, message({ message_id: `m${i}` }))).statusCode, 200)
    assert.equal((await app.inject('/stats')).statusCode, 200)
  }
})

test('RATE_LIMIT_WEBHOOK: over the limit 429 {"detail":"rate limited"} with Retry-After; the read API is not counted', async (t) => {
  const { app } = await build(t, { RATE_LIMIT_WEBHOOK: '3/hour' })
  for (let i = 0; i < 3; i++) assert.equal((await deliver(app, message({ message_id: `m${i}` }))).statusCode, 200)
  const limited = await deliver(app, message({ message_id: 'm3' }))
  assert.equal(limited.statusCode, 429)
  assert.deepEqual(limited.json(), { detail: 'rate limited' })
  assert.match(String(limited.headers['retry-after']), /^[1-9]\d*$/)
  assert.equal((await app.inject('/messages')).json().total, 3, 'the limited delivery was not stored')
  for (let i = 0; i < 10; i++) assert.equal((await app.inject('/stats')).statusCode, 200)
  // Decided before the body is read: a declared huge body is still a 429, not a 413.
  const huge = await app.inject({ method: 'POST', url: '/webhook', headers: { 'content-type': 'application/json', 'content-length': '999999999' }, payload: '' })
  assert.equal(huge.statusCode, 429)
})

test('RATE_LIMIT_READ: /messages and /stats share the read limit; the webhook keeps working', async (t) => {
  const { app } = await build(t, { RATE_LIMIT_READ: '2/minute' })
  assert.equal((await app.inject('/messages')).statusCode, 200)
  assert.equal((await app.inject('/stats')).statusCode, 200)
  const limited = await app.inject('/messages')
  assert.equal(limited.statusCode, 429)
  assert.deepEqual(limited.json(), { detail: 'rate limited' })
  assert.ok(Number(limited.headers['retry-after']) >= 1)
  assert.equal((await app.inject('/stats')).statusCode, 429)
  assert.equal((await deliver(app, message())).statusCode, 200)
  assert.equal((await app.inject('/health/ready')).statusCode, 200)
  assert.equal((await app.inject('/metrics')).statusCode, 200)
})

test('rate limit values are validated at start', async () => {
  const { loadConfig } = await import('../../src/config.ts')
  for (const value of ['0', '-1', '10/day', 'ten', '10/ minute', '1.5']) {
    assert.throws(() => loadConfig({ WEBHOOK_SECRET: 's', RATE_LIMIT_WEBHOOK: value }), /RATE_LIMIT_WEBHOOK/, value)
  }
  assert.deepEqual(loadConfig({ WEBHOOK_SECRET: 's', RATE_LIMIT_READ: '100' }).rateLimits.read, { max: 100, timeWindowMs: 60_000 })
  assert.deepEqual(loadConfig({ WEBHOOK_SECRET: 's', RATE_LIMIT_READ: '5/second' }).rateLimits.read, { max: 5, timeWindowMs: 1_000 })
})

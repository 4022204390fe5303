import assert from 'node:assert/strict'
import { test } from 'node:test'
import { bearerTokenChecker } from '../../src/lib/bearer-token.ts'
import { build, deliver, message } from '../helper.ts'

const TOKEN = 'read-token-0123456789abcdef'

test('without READ_API_TOKEN the read API is open, as before', async (t) => {
  const { app } = await build(t)
  assert.equal((await app.inject('/messages')).statusCode, 200)
  assert.equal((await app.inject('/stats')).statusCode, 200)
})

test('with READ_API_TOKEN, /messages and /stats need the bearer token: 401 {"detail":"unauthorized"} otherwise', async (t) => {
  const { app } = await build(t, { READ_API_TOKEN: TOKEN })
  const refused = [
    {},
    { authorization: '' },
    { authorization: TOKEN },
    { authorization: `Basic ${TOKEN}` },
    { authorization: `Bearer ${TOKEN}x` },
    { authorization: `Bearer ${TOKEN.slice(0, -1)}` },
    { authorization: 'Bearer ' },
    { authorization: `Bearer  ${TOKEN}` },
    { authorization: `Bearer ${'x'.repeat(10_000)}` }
  ]
  for (const url of ['/messages', '/stats', '/messages?limit=1&q=a']) {
    for (const headers of refused) {
      const response = await app.inject({ url, headers })
      assert.equal(response.statusCode, 401, `${url} ${JSON.stringify(headers).slice(0, 80)}`)
      assert.deepEqual(response.json(), { detail: 'unauthorized' })
      assert.equal(response.headers['www-authenticate'], 'Bearer')
    }
    for (const authorization of [`Bearer ${TOKEN}`, `bearer ${TOKEN}`]) {
      assert.equal((await app.inject({ url, headers: { authorization } })).statusCode, 200, authorization)
    }
  }
})

test('with READ_API_TOKEN, health, metrics, docs and the webhook stay as they are', async (t) => {
  const { app } = await build(t, { READ_API_TOKEN: TOKEN })
  assert.equal((await app.inject('/health/live')).statusCode, 200)
  assert.equal((await app.inject('/health/ready')).statusCode, 200)
  assert.equal((await app.inject('/metrics')).statusCode, 200)
  assert.equal((await app.inject('/docs/json')).statusCode, 200)
  assert.equal((await deliver(app, message())).statusCode, 200)
  assert.equal((await app.inject({ url: '/messages', headers: { authorization: `Bearer ${TOKEN}` } })).json().total, 1)
})

test('the OpenAPI document lists the 401 on the protected routes only', async (t) => {
  const { app } = await build(t, { READ_API_TOKEN: TOKEN })
  const paths = (await app.inject('/docs/json')).json().paths
  assert.ok(paths['/messages'].get.responses['401'])
  assert.ok(paths['/stats'].get.responses['401'])
  assert.equal(paths['/health/ready'].get.responses['401'], undefined)
})

test('a token shorter than 16 characters is refused at start, without echoing it', async () => {
  const { loadConfig } = await import('../../src/config.ts')
  assert.throws(() => loadConfig({ WEBHOOK_SECRET: 's', READ_API_TOKEN: 'short-secret' }), (error: Error) =>
    /READ_API_TOKEN/.test(error.message) && !error.message.includes('short-secret'))
})

test('bearerTokenChecker: only the exact token passes, whatever the length presented', () => {
  const check = bearerTokenChecker(TOKEN)
  assert.equal(check(`Bearer ${TOKEN}`), true)
  for (const value of [undefined, '', 'Bearer', `Bearer ${TOKEN} `, `Bearer ${TOKEN}\n`, `Token ${TOKEN}`, 'Bearer a', `Bearer ${TOKEN}${TOKEN}`]) {
    assert.equal(check(value), false, JSON.stringify(value))
  }
})

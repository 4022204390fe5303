import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { join } from 'node:path'
import { test } from 'node:test'
import Database from 'better-sqlite3'
import { sign } from '../../src/lib/signature.ts'
import { tempDir } from '../helper.ts'
import { startServer } from '../helpers/server-process.ts'

const secret = `whsec-${randomBytes(12).toString('hex')}`
const token = `rtok-${randomBytes(12).toString('hex')}`

/** Everything a real process wrote must be free of the secret, the token and every signature sent. */
function assertClean (output: string, needles: string[]): void {
  for (const needle of needles) {
    assert.equal(output.toLowerCase().includes(needle.toLowerCase()), false, `${needle.slice(0, 12)}… appears in the output`)
  }
}

test('the secret, the read token and signature headers never reach stdout or stderr of a real process', async (t) => {
  const dir = tempDir(t)
  const file = join(dir, 'app.db')
  const server = await startServer({ WEBHOOK_SECRET: secret, READ_API_TOKEN: token, LOG_LEVEL: 'debug', DATABASE_URL: `sqlite:///${file}` })
  t.after(() => server.kill())
  const sent: string[] = []
  const post = async (body: string, signature: string, headers: Record<string, string> = {}) => {
    sent.push(signature)
    return fetch(`${server.url}/webhook`, {
      method: 'POST', body, headers: { 'content-type': 'application/json', 'x-signature': signature, ...headers }
    })
  }
  const body = JSON.stringify({ message_id: 'm1', from: '+1', to: '+2', ts: '2025-01-15T10:00:00Z', text: 'hi' })
  assert.equal((await post(body, sign(secret, body))).status, 200)
  assert.equal((await post(body, sign(secret, body).toUpperCase())).status, 200)
  assert.equal((await post(body, sign('not-the-secret', body))).status, 401)
  assert.equal((await post('{"broken', sign(secret, '{"broken'))).status, 422)
  assert.equal((await post(body, sign(secret, body), { 'content-type': 'text/plain' })).status, 415)
  // A 503 logs its error with the cause: still nothing secret in it.
  const other = new Database(file)
  other.exec('BEGIN IMMEDIATE')
  const busyBody = body.replace('m1', 'm2')
  assert.equal((await post(busyBody, sign(secret, busyBody))).status, 503)
  other.exec('ROLLBACK')
  other.close()
  for (const authorization of [`Bearer ${token}`, `Bearer ${token}-wrong`, token]) {
    await fetch(`${server.url}/messages`, { headers: { authorization } })
    await fetch(`${server.url}/stats`, { headers: { authorization } })
  }
  await server.kill('SIGTERM')
  const output = server.stdout.join('\n') + server.stderr.join('')
  const lines = server.stdout.filter((line) => line.includes('"request_id"'))
  assert.ok(lines.length >= 12, 'the requests were logged, so the check below looked at something')
  assertClean(output, [secret, token, ...sent])
})

test('a refused start does not print the secret or the token either', async (t) => {
  const refusals: Array<Record<string, string>> = [
    { WEBHOOK_SECRET: secret, READ_API_TOKEN: 'too-short' },
    { WEBHOOK_SECRET: secret, READ_API_TOKEN: token, BODY_LIMIT: 'lots' }
  ]
  for (const env of refusals) {
    const server = await startServer({ ...env, DATABASE_URL: 'sqlite::memory:' }, { waitReady: false })
    t.after(() => server.kill())
    assert.notEqual(await server.exited, 0)
    const output = server.stdout.join('\n') + server.stderr.join('')
    assert.match(output, /READ_API_TOKEN|BODY_LIMIT/)
    assertClean(output, [secret, token, 'too-short'])
  }
})

import assert from 'node:assert/strict'
import { copyFileSync, existsSync, mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { test } from 'node:test'
import { fileURLToPath } from 'node:url'
import { sign } from '../../src/lib/signature.ts'
import { message, tempDir } from '../helper.ts'
import { startServer } from '../helpers/server-process.ts'

// The server reads .env from its working directory, under the real environment: on the real process,
// since that is where the working directory and the environment are.

const ROOT = fileURLToPath(new URL('../..', import.meta.url))

async function deliver (url: string, secret: string, id: string): Promise<number> {
  const body = JSON.stringify(message({ message_id: id }))
  const response = await fetch(`${url}/webhook`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-signature': sign(secret, body) },
    body
  })
  return response.status
}

test('cp .env.example .env, then start: the file is the configuration', { timeout: 60_000 }, async (t) => {
  const cwd = tempDir(t)
  copyFileSync(join(ROOT, '.env.example'), join(cwd, '.env'))
  // Only where to listen comes from the real environment; the secret and the database from the file.
  const server = await startServer({}, { cwd })
  t.after(() => server.kill())
  assert.equal((await fetch(`${server.url}/health/ready`)).status, 200)
  assert.equal(await deliver(server.url, 'change-me', 'from-example'), 200, 'the secret of .env.example')
  assert.ok(existsSync(join(cwd, 'data', 'app.db')), 'the DATABASE_URL of .env.example, relative to the working directory')
})

test('a variable of the real environment wins over the same one in .env', { timeout: 60_000 }, async (t) => {
  const cwd = tempDir(t)
  writeFileSync(join(cwd, '.env'), [
    '# a comment, and a quoted value',
    'WEBHOOK_SECRET="file secret"',
    'READ_API_TOKEN=token-from-the-file-0001',
    'DATABASE_URL=sqlite::memory:',
    ''
  ].join('\n'))
  const server = await startServer({ READ_API_TOKEN: 'token-from-the-environment' }, { cwd })
  t.after(() => server.kill())
  assert.equal(await deliver(server.url, 'file secret', 'from-file'), 200, 'WEBHOOK_SECRET from the file')
  const stats = (token: string) => fetch(`${server.url}/stats`, { headers: { authorization: `Bearer ${token}` } })
  assert.equal((await stats('token-from-the-environment')).status, 200)
  assert.equal((await stats('token-from-the-file-0001')).status, 401)
})

test('no .env: the real environment alone; a .env that cannot be read stops the start with a JSON line', { timeout: 60_000 }, async (t) => {
  const cwd = tempDir(t)
  const server = await startServer({ WEBHOOK_SECRET: 'only-env', DATABASE_URL: 'sqlite::memory:' }, { cwd })
  t.after(() => server.kill())
  assert.equal(await deliver(server.url, 'only-env', 'no-file'), 200)

  const broken = tempDir(t)
  mkdirSync(join(broken, '.env')) // a directory: exists, cannot be read as a file
  const refused = await startServer({ WEBHOOK_SECRET: 'only-env', DATABASE_URL: 'sqlite::memory:' }, { cwd: broken, waitReady: false })
  t.after(() => refused.kill())
  assert.equal(await refused.exited, 1)
  const lines = refused.stdout.filter((line) => line !== '').map((line) => JSON.parse(line))
  assert.equal(lines.length, 1, refused.stdout.join('\n'))
  assert.equal(lines[0].level, 'fatal')
  assert.equal(lines[0].variable, '.env')
})

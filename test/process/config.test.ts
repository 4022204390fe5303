import assert from 'node:assert/strict'
import { test } from 'node:test'
import { startServer } from '../helpers/server-process.ts'

const cases: Array<[string, Record<string, string>]> = [
  ['WEBHOOK_SECRET', {}],
  ['WEBHOOK_SECRET', { WEBHOOK_SECRET: '' }],
  ['DATABASE_URL', { WEBHOOK_SECRET: 's', DATABASE_URL: 'mysql://localhost/db' }],
  ['LOG_LEVEL', { WEBHOOK_SECRET: 's', LOG_LEVEL: 'loud' }]
]

for (const [variable, env] of cases) {
  test(`refuses to start on a bad ${variable}: non-zero exit, one JSON line naming it`, async () => {
    const server = await startServer(env, { waitReady: false })
    const code = await server.exited
    assert.notEqual(code, 0)
    const lines = server.stdout.filter((line) => line.trim() !== '')
    assert.equal(lines.length, 1, lines.join('\n'))
    const line = JSON.parse(lines[0]!)
    assert.equal(line.variable, variable)
    assert.equal(line.level, 'fatal')
    assert.match(line.msg, new RegExp(variable))
    assert.match(line.ts, /^\d{4}-\d{2}-\d{2}T/)
  })
}

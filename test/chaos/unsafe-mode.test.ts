import assert from 'node:assert/strict'
import { test } from 'node:test'
import { UNSAFE_ACK_CONFIRMATION } from '../../schemas/env.ts'
import { formatReport, runChaos } from '../../scripts/chaos.ts'
import { loadConfig } from '../../src/config.ts'
import { build, deliver, message, SECRET } from '../helper.ts'

test('the harness catches loss: against the unsafe mode (200 before commit) it reports lost acknowledged ids', async (t) => {
  const report = await runChaos({ cycles: 4, concurrency: 8, seed: 7, maxLoadMs: 800, unsafe: true })
  for (const line of formatReport(report, 3).split('\n')) t.diagnostic(line)
  assert.ok(report.acked > 0)
  assert.ok(report.lost > 0, 'the unsafe mode lost nothing the harness could see')
  assert.ok(report.violations.some((v) => v.kind === 'lost' && v.message_id !== undefined))
})

test('the unsafe mode is off by default and refuses any value but the exact confirmation', () => {
  assert.equal(loadConfig({ WEBHOOK_SECRET: SECRET }).unsafeAckBeforeCommit, false)
  assert.equal(loadConfig({ WEBHOOK_SECRET: SECRET, HOOKVAULT_UNSAFE_ACK_BEFORE_COMMIT: '' }).unsafeAckBeforeCommit, false)
  for (const value of ['1', 'true', 'yes', 'on', UNSAFE_ACK_CONFIRMATION.toUpperCase()]) {
    assert.throws(() => loadConfig({ WEBHOOK_SECRET: SECRET, HOOKVAULT_UNSAFE_ACK_BEFORE_COMMIT: value }), (error: Error) => {
      // The refusal does not hand out the value that would be accepted.
      assert.equal(error.message.includes(UNSAFE_ACK_CONFIRMATION), false)
      return /HOOKVAULT_UNSAFE_ACK_BEFORE_COMMIT/.test(error.message)
    }, value)
  }
})

test('with the confirmation the app says so at error level when it starts', async (t) => {
  const { app, logs } = await build(t, { HOOKVAULT_UNSAFE_ACK_BEFORE_COMMIT: UNSAFE_ACK_CONFIRMATION })
  const warning = logs.find((line) => /UNSAFE MODE ON/.test(String(line.msg)))
  assert.ok(warning, 'no start-up warning')
  assert.equal(warning.level, 'error')
  assert.equal((await deliver(app, message())).statusCode, 200)
})

test('without it, no warning and the 200 waits for the commit', async (t) => {
  const { app, logs } = await build(t)
  assert.equal(logs.some((line) => /UNSAFE/.test(String(line.msg))), false)
  assert.equal((await deliver(app, message())).statusCode, 200)
  assert.equal((await app.inject('/stats')).json().total_messages, 1, 'stored by the time the 200 arrived')
})

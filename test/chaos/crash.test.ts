import assert from 'node:assert/strict'
import { test } from 'node:test'
import { formatReport, runChaos } from '../../scripts/chaos.ts'

// The crash harness itself (scripts/chaos.ts), as CI runs it: the real server on one database file,
// concurrent signed deliveries, SIGKILL at random instants, a full check after every restart.
test('20 kill -9 cycles: every acknowledged id stored exactly once with its first body, stats agree, integrity ok', async (t) => {
  const report = await runChaos({ cycles: 20, concurrency: 8, seed: 20251115, maxLoadMs: 500 })
  for (const line of formatReport(report).split('\n')) t.diagnostic(line)
  assert.equal(report.cycles, 20)
  assert.equal(report.kills, 20)
  assert.ok(report.acked > 0, 'the harness acknowledged nothing, so it proved nothing')
  assert.deepEqual(report.violations, [])
})

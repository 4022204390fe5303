import assert from 'node:assert/strict'
import type { TestContext } from 'node:test'

/** True under CI: .ci/run sets CI=true and installs every tool the tests use, and runs as root. */
export const IN_CI = process.env.CI === 'true'

/**
 * Skips a test that cannot run here (a tool or a privilege is missing), loudly, on a developer's
 * machine. Under CI the same gap fails the test instead: CI provides everything, so a skip there would
 * only hide that a check stopped running while the suite stayed green.
 */
export function skipOutsideCi (t: TestContext, reason: string): void {
  assert.ok(!IN_CI, `${reason}; under CI this must not be missing (see .ci/run)`)
  process.stderr.write(`\n${'#'.repeat(100)}\n# SKIPPED: ${t.name}: ${reason}\n${'#'.repeat(100)}\n`)
  t.skip(reason)
}

import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { test } from 'node:test'
import { fileURLToPath } from 'node:url'
import { skipOutsideCi } from '../helpers/skip.ts'

// The real thing: scripts/docker-smoke.sh starts its own dockerd, builds the image with the project's
// Dockerfile, runs compose.yaml and checks health, a signed webhook, non-root and persistence across
// down + up. Cold (building the stand-in base image) it takes minutes; later runs reuse a cached stand-in.

const ROOT = fileURLToPath(new URL('../..', import.meta.url))
const SKIPPED = 77
const TIMEOUT_MS = 25 * 60_000

test('the image builds, compose runs it healthy as non-root, and a signed webhook survives down + up', { timeout: TIMEOUT_MS + 60_000 }, async (t) => {
  if (process.env.HOOKVAULT_SKIP_DOCKER_SMOKE === '1') {
    skipOutsideCi(t, 'HOOKVAULT_SKIP_DOCKER_SMOKE=1 turned the container smoke test off')
    return
  }
  const child = spawn('bash', ['scripts/docker-smoke.sh'], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] })
  const output: string[] = []
  child.stdout.on('data', (chunk: Buffer) => { output.push(chunk.toString('utf8')) })
  child.stderr.on('data', (chunk: Buffer) => { output.push(chunk.toString('utf8')) })
  // SIGTERM lets the script's trap stop its dockerd and remove its temp dir.
  const timer = setTimeout(() => child.kill('SIGTERM'), TIMEOUT_MS)
  const [code] = await once(child, 'exit') as [number | null]
  clearTimeout(timer)
  const log = output.join('')

  if (code === SKIPPED) {
    // Root, dockerd, docker-compose and debootstrap: .ci/run runs as root and installs them.
    skipOutsideCi(t, `no Docker engine could run: ${log.match(/SKIP: (.*)/)?.[1] ?? 'the script skipped'}`)
    return
  }
  const tail = log.split('\n').slice(-80).join('\n')
  assert.equal(code, 0, `docker-smoke.sh failed; its output ends with:\n${tail}`)
  for (const line of log.split('\n').filter((l) => l.startsWith('[docker-smoke'))) t.diagnostic(line)
  assert.match(log, /PASS: image builds/)
  assert.match(log, /the message survived down \+ up/)
})

import assert from 'node:assert/strict'
import { once } from 'node:events'
import { test } from 'node:test'
import { SECRET } from '../helper.ts'
import { startServer, type ServerProcess } from '../helpers/server-process.ts'

// The reader of stdout goes away (`npm start | head -1`, a log shipper that died) while the server
// runs. Its log lines are then dropped and counted, and every exit path still ends the process: a
// real pipe whose reading end is closed, on the real process.

/** Far beyond a clean shutdown's time, far below "forever", which is what the defect takes. */
const EXIT_BOUND_MS = 20_000

async function closeReader (server: ServerProcess): Promise<void> {
  server.child.stdout.destroy() // the test holds the pipe's only reading end
  await once(server.child.stdout, 'close')
}

async function exitWithin (server: ServerProcess, ms: number): Promise<number | string> {
  let timer: NodeJS.Timeout | undefined
  const late = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new Error(`still running ${ms} ms after SIGTERM; stderr: ${server.stderr.join('')}`)), ms)
  })
  try {
    return await Promise.race([server.exited, late])
  } finally {
    clearTimeout(timer)
  }
}

const start = () => startServer({ WEBHOOK_SECRET: SECRET, DATABASE_URL: 'sqlite::memory:' })

test('stdout closed, then SIGTERM: the shutdown lines are dropped and the process exits 0', { timeout: 60_000 }, async (t) => {
  const server = await start()
  t.after(() => server.kill())
  await closeReader(server)
  // No request in between: the first write that fails is a shutdown line.
  server.child.kill('SIGTERM')
  assert.equal(await exitWithin(server, EXIT_BOUND_MS), 0)
  assert.equal(server.stderr.join(''), '')
})

test('stdout closed under traffic: requests are still served, log_lines_dropped_total counts the lost lines, SIGTERM exits 0', { timeout: 60_000 }, async (t) => {
  const server = await start()
  t.after(() => server.kill())
  const before = await (await fetch(`${server.url}/metrics`)).text()
  assert.match(before, /^log_lines_dropped_total 0$/m)

  await closeReader(server)
  const REQUESTS = 5
  for (let i = 0; i < REQUESTS; i++) assert.equal((await fetch(`${server.url}/health/live`)).status, 200)
  const metrics = await (await fetch(`${server.url}/metrics`)).text()
  const dropped = Number(/^log_lines_dropped_total (\d+)$/m.exec(metrics)?.[1])
  assert.ok(dropped >= REQUESTS, `log_lines_dropped_total ${dropped}, expected at least ${REQUESTS}`)

  server.child.kill('SIGTERM')
  assert.equal(await exitWithin(server, EXIT_BOUND_MS), 0)
})

import assert from 'node:assert/strict'
import { once } from 'node:events'
import { existsSync, writeFileSync } from 'node:fs'
import { connect, createServer } from 'node:net'
import { join } from 'node:path'
import { test } from 'node:test'
import Database from 'better-sqlite3'
import { sign } from '../../src/lib/signature.ts'
import { SECRET, message, tempDir } from '../helper.ts'
import { freePort, startServer, type ServerProcess } from '../helpers/server-process.ts'

// Graceful shutdown and failed starts, on the real process (src/server.ts): signals, sockets and exit
// codes live there.

const WORKERS = 16
const MAX_REQUESTS_PER_WORKER = 5_000
const ACKS_BEFORE_SIGNAL = 200

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

/** Every stdout line parsed; fails on the first line that is not one JSON object. */
function jsonLines (server: ServerProcess): Array<Record<string, unknown>> {
  return server.stdout.filter((line) => line !== '').map((line) => {
    const parsed = JSON.parse(line)
    assert.equal(typeof parsed, 'object', `not a JSON object: ${line}`)
    return parsed
  })
}

/** Polls until `predicate` holds or the process ends; bounded. */
async function waitFor (server: ServerProcess, what: string, predicate: () => boolean): Promise<void> {
  for (let i = 0; i < 600; i++) {
    if (predicate()) return
    if (server.child.exitCode !== null || server.child.signalCode !== null) break
    await sleep(50)
  }
  assert.fail(`gave up waiting for ${what}; stdout:\n${server.stdout.join('\n')}`)
}

const logged = (server: ServerProcess, msg: RegExp) => () => server.stdout.some((line) => msg.test(line))

test('SIGTERM under concurrent signed load: every 200 is committed in the file, exit 0, stdout stays JSON', { timeout: 120_000 }, async (t) => {
  const file = join(tempDir(t), 'app.db')
  const server = await startServer({ WEBHOOK_SECRET: SECRET, DATABASE_URL: `sqlite:///${file}`, SHUTDOWN_GRACE_MS: '30000' })
  t.after(() => server.kill())

  const acknowledged = new Set<string>()
  const statuses = new Map<number, number>()
  let signalled = false
  let acknowledgedAfterSignal = 0
  const failedBeforeSignal: string[] = []
  const state = { exited: false }
  server.exited.then(() => { state.exited = true }, () => {})

  async function worker (w: number): Promise<void> {
    for (let i = 0; i < MAX_REQUESTS_PER_WORKER && !state.exited; i++) {
      const id = `w${w}-${i}`
      const body = JSON.stringify(message({ message_id: id, text: `load ${i}` }))
      try {
        const response = await fetch(`${server.url}/webhook`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'x-signature': sign(SECRET, body) },
          body
        })
        const text = await response.text()
        statuses.set(response.status, (statuses.get(response.status) ?? 0) + 1)
        if (response.status === 200 && text === '{"status":"ok"}') {
          acknowledged.add(id)
          if (signalled) acknowledgedAfterSignal++
        }
      } catch {
        // Refused or reset once the server stops listening: no answer, so no promise was made.
        if (!signalled) failedBeforeSignal.push(id)
        await sleep(5)
      }
    }
  }
  const workers = Array.from({ length: WORKERS }, (_, w) => worker(w))

  for (let i = 0; i < 600 && acknowledged.size < ACKS_BEFORE_SIGNAL; i++) await sleep(50)
  assert.ok(acknowledged.size >= ACKS_BEFORE_SIGNAL, `only ${acknowledged.size} acknowledged before SIGTERM`)

  signalled = true
  server.child.kill('SIGTERM')
  const code = await server.exited
  await Promise.all(workers)

  assert.equal(code, 0, `exit code; stderr: ${server.stderr.join('')}`)
  assert.deepEqual(failedBeforeSignal, [], 'no request failed before the signal')
  assert.ok(acknowledgedAfterSignal > 0, 'requests in flight at SIGTERM finished with 200')
  assert.deepEqual([...statuses.keys()].filter((status) => status !== 200 && status !== 503), [], 'only 200 or 503 answers')

  assert.equal(existsSync(`${file}-wal`), false, 'a clean close checkpoints and removes the WAL')
  const db = new Database(file, { readonly: true, fileMustExist: true })
  const stored = new Set(db.prepare('SELECT message_id FROM messages').pluck().all() as string[])
  db.close()
  const lost = [...acknowledged].filter((id) => !stored.has(id))
  assert.deepEqual(lost, [], `${lost.length} of ${acknowledged.size} acknowledged messages are not in the file`)
  t.diagnostic(`${acknowledged.size} acknowledged (${acknowledgedAfterSignal} after SIGTERM), ${stored.size} rows stored, statuses ${JSON.stringify([...statuses])}`)

  const lines = jsonLines(server)
  const shutdownLine = lines.find((line) => line.msg === 'shutting down')
  assert.equal(shutdownLine?.signal, 'SIGTERM')
  assert.ok(lines.some((line) => line.msg === 'shutdown complete'))
})

test('SHUTDOWN_DRAIN_MS: after SIGTERM readiness answers 503 while webhooks are still stored, then exit 0', { timeout: 60_000 }, async (t) => {
  const file = join(tempDir(t), 'app.db')
  const server = await startServer({ WEBHOOK_SECRET: SECRET, DATABASE_URL: `sqlite:///${file}`, SHUTDOWN_DRAIN_MS: '3000' })
  t.after(() => server.kill())
  assert.equal((await fetch(`${server.url}/health/ready`)).status, 200)

  server.child.kill('SIGTERM')
  await waitFor(server, 'the shutdown log line', logged(server, /"msg":"shutting down"/))
  const ready = await fetch(`${server.url}/health/ready`)
  assert.equal(ready.status, 503)
  assert.equal(((await ready.json()) as { checks: Record<string, string> }).checks.shutdown, 'shutting down')
  const body = JSON.stringify(message({ message_id: 'during-drain' }))
  const delivered = await fetch(`${server.url}/webhook`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-signature': sign(SECRET, body) },
    body
  })
  assert.equal(delivered.status, 200, 'traffic is still served while draining')

  assert.equal(await server.exited, 0)
  const db = new Database(file, { readonly: true, fileMustExist: true })
  assert.equal(db.prepare('SELECT count(*) FROM messages WHERE message_id = ?').pluck().get('during-drain'), 1)
  db.close()
  assert.equal(jsonLines(server).find((line) => line.msg === 'shutting down')?.drain_ms, 3000)
})

test('SIGINT shuts down cleanly too', { timeout: 60_000 }, async (t) => {
  const file = join(tempDir(t), 'app.db')
  const server = await startServer({ WEBHOOK_SECRET: SECRET, DATABASE_URL: `sqlite:///${file}` })
  t.after(() => server.kill())
  server.child.kill('SIGINT')
  assert.equal(await server.exited, 0)
  assert.equal(jsonLines(server).find((line) => line.msg === 'shutting down')?.signal, 'SIGINT')
})

/** A request whose body never finishes arriving: it keeps the server's shutdown waiting. */
async function stalledRequest (server: ServerProcess) {
  const socket = connect(server.port, '127.0.0.1')
  await once(socket, 'connect')
  socket.on('error', () => {})
  socket.write('POST /webhook HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"message_id":')
  return socket
}

test('a request that never finishes cannot hold the process past SHUTDOWN_GRACE_MS: exit 1 with a JSON line', { timeout: 60_000 }, async (t) => {
  const server = await startServer({ WEBHOOK_SECRET: SECRET, DATABASE_URL: 'sqlite::memory:', SHUTDOWN_GRACE_MS: '1000' })
  t.after(() => server.kill())
  const socket = await stalledRequest(server)
  t.after(() => socket.destroy())
  server.child.kill('SIGTERM')
  assert.equal(await server.exited, 1)
  const lines = jsonLines(server)
  assert.ok(lines.some((line) => line.level === 'fatal' && line.grace_ms === 1000), server.stdout.join('\n'))
  assert.ok(!lines.some((line) => line.msg === 'shutdown complete'))
})

test('a second signal during shutdown exits at once with code 1 and a JSON line', { timeout: 60_000 }, async (t) => {
  const server = await startServer({ WEBHOOK_SECRET: SECRET, DATABASE_URL: 'sqlite::memory:', SHUTDOWN_GRACE_MS: '600000' })
  t.after(() => server.kill())
  const socket = await stalledRequest(server)
  t.after(() => socket.destroy())
  server.child.kill('SIGTERM')
  await waitFor(server, 'the shutdown log line', logged(server, /"msg":"shutting down"/))
  // Past the half second in which the same signal again counts as a repeat of the first (next test).
  await sleep(1_500)
  server.child.kill('SIGTERM')
  assert.equal(await server.exited, 1)
  const lines = jsonLines(server)
  assert.ok(lines.some((line) => line.level === 'fatal' && line.signal === 'SIGTERM' && /second signal/.test(String(line.msg))), server.stdout.join('\n'))
})

test('the same signal twice at once (Ctrl-C on `npm start`: from the terminal and from npm) is one graceful shutdown', { timeout: 60_000 }, async (t) => {
  const server = await startServer({ WEBHOOK_SECRET: SECRET, DATABASE_URL: 'sqlite::memory:', SHUTDOWN_DRAIN_MS: '1000' })
  t.after(() => server.kill())
  server.child.kill('SIGINT')
  await waitFor(server, 'the shutdown log line', logged(server, /"msg":"shutting down"/))
  server.child.kill('SIGINT')
  assert.equal(await server.exited, 0, server.stdout.join('\n'))
  const lines = jsonLines(server)
  assert.deepEqual(lines.filter((line) => line.level === 'fatal'), [])
  assert.equal(lines.filter((line) => line.msg === 'shutting down').length, 1)
  assert.ok(lines.some((line) => line.msg === 'shutdown complete'))
})

test('an unusable database path stops the start with one JSON line and exit 1, no bare stack anywhere', { timeout: 60_000 }, async (t) => {
  const dir = tempDir(t)
  writeFileSync(join(dir, 'a-file'), 'not a directory')
  const server = await startServer({ WEBHOOK_SECRET: SECRET, DATABASE_URL: `sqlite:///${join(dir, 'a-file', 'app.db')}` }, { waitReady: false })
  t.after(() => server.kill())
  assert.equal(await server.exited, 1)
  const lines = jsonLines(server)
  assert.equal(lines.length, 1, server.stdout.join('\n'))
  assert.equal(lines[0]!.level, 'fatal')
  assert.match(String(lines[0]!.msg), /^could not start: \S/)
  assert.match(String((lines[0]!.err as { code?: unknown } | undefined)?.code), /^E[A-Z]+$/, 'the system error code is in the line')
  assert.equal(server.stderr.join(''), '')
})

test('a port already taken stops the start with a JSON line and exit 1', { timeout: 60_000 }, async (t) => {
  const blocker = createServer()
  const port = await freePort()
  blocker.listen(port, '127.0.0.1')
  await once(blocker, 'listening')
  t.after(() => blocker.close())
  const server = await startServer({ WEBHOOK_SECRET: SECRET, DATABASE_URL: 'sqlite::memory:', PORT: String(port) }, { waitReady: false })
  t.after(() => server.kill())
  assert.equal(await server.exited, 1)
  const lines = jsonLines(server)
  assert.ok(lines.length >= 1)
  const fatal = lines.find((line) => line.level === 'fatal')
  assert.match(String(fatal?.msg), new RegExp(`could not listen on 127\\.0\\.0\\.1:${port}`))
  assert.equal((fatal?.err as { code?: string } | undefined)?.code, 'EADDRINUSE')
  assert.equal(server.stderr.join(''), '')
})

import assert from 'node:assert/strict'
import { once } from 'node:events'
import { Agent, request, type ClientRequest, type IncomingMessage } from 'node:http'
import { connect } from 'node:net'
import { test } from 'node:test'
import { sign } from '../../src/lib/signature.ts'
import { SECRET, message } from '../helper.ts'
import { startServer, type ServerProcess } from '../helpers/server-process.ts'

// Contract §14 with pooling clients, on the real process: after SIGTERM and the drain, a request in
// flight is answered and its connection closed, later requests on kept-alive connections are answered
// with `Connection: close`, idle pooled connections are closed, and the process exits 0 long before
// SHUTDOWN_GRACE_MS, even though the client's agent would keep its sockets open for minutes.

const GRACE_MS = 30_000
const DRAIN_MS = 500
/** Far more than the contract's 1 s after the drain, far less than the grace period the defect waits for. */
const EXIT_BOUND_MS = 8_000

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

interface Answer { status: number, connection: string | undefined, body: string }

function read (response: IncomingMessage): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = []
    response.on('data', (chunk: Buffer) => chunks.push(chunk))
    response.on('end', () => resolve({ status: response.statusCode ?? 0, connection: response.headers.connection, body: Buffer.concat(chunks).toString() }))
    response.on('error', reject)
  })
}

/** A signed POST /webhook through `agent`; `hold` sends only half the body, the rest on `finish()`. */
function post (server: ServerProcess, agent: Agent, id: string, hold = false): { req: ClientRequest, answer: Promise<Answer>, finish: () => void } {
  const body = JSON.stringify(message({ message_id: id }))
  const req = request(`${server.url}/webhook`, {
    method: 'POST',
    agent,
    headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), 'x-signature': sign(SECRET, body) }
  })
  const answer = new Promise<Answer>((resolve, reject) => {
    req.on('response', (response) => { read(response).then(resolve, reject) })
    req.on('error', reject)
  })
  const half = Math.floor(body.length / 2)
  if (hold) {
    req.flushHeaders()
    req.write(body.slice(0, half))
  } else {
    req.end(body)
  }
  return { req, answer, finish: () => { req.end(body.slice(half)) } }
}

/** Resolves once the server's listener is closed: new TCP connections are refused. Bounded. */
async function listenerClosed (server: ServerProcess): Promise<void> {
  for (let i = 0; i < 400; i++) {
    const socket = connect(server.port, '127.0.0.1')
    const refused = await new Promise<boolean>((resolve) => {
      socket.once('connect', () => resolve(false))
      socket.once('error', () => resolve(true))
    })
    socket.destroy()
    if (refused) return
    await sleep(25)
  }
  assert.fail('the listener was never closed')
}

/** The exit code, or a failure naming the bound if the process is still running after it. */
async function exitWithin (server: ServerProcess, ms: number): Promise<number | string> {
  let timer: NodeJS.Timeout | undefined
  const late = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new Error(`still running ${ms} ms after the last answer; stdout:\n${server.stdout.join('\n')}`)), ms)
  })
  try {
    return await Promise.race([server.exited, late])
  } finally {
    clearTimeout(timer)
  }
}

function fatalLines (server: ServerProcess): string[] {
  return server.stdout.filter((line) => line.includes('"level":"fatal"'))
}

async function start (t: { after: (fn: () => unknown) => void }): Promise<{ server: ServerProcess, agent: Agent }> {
  const server = await startServer({
    WEBHOOK_SECRET: SECRET,
    DATABASE_URL: 'sqlite::memory:',
    SHUTDOWN_GRACE_MS: String(GRACE_MS),
    SHUTDOWN_DRAIN_MS: String(DRAIN_MS)
  })
  // The agent keeps idle sockets for as long as the server leaves them open.
  const agent = new Agent({ keepAlive: true, keepAliveMsecs: 60_000, maxSockets: 8 })
  t.after(() => { agent.destroy(); return server.kill() })
  return { server, agent }
}

test('a pooling client idle after SIGTERM: the request in flight is answered with Connection: close, then exit 0 at once', { timeout: 60_000 }, async (t) => {
  const { server, agent } = await start(t)
  // Two pooled sockets: one left idle in the agent's pool, one carrying a request across the shutdown.
  const warm = await Promise.all([post(server, agent, 'warm-1').answer, post(server, agent, 'warm-2').answer])
  assert.deepEqual(warm.map((answer) => answer.status), [200, 200])
  assert.ok(warm.every((answer) => answer.connection === 'keep-alive'), 'kept alive before the signal')

  const inFlight = post(server, agent, 'in-flight', true)
  await once(inFlight.req, 'socket')
  await sleep(100) // the headers have reached the server: the request is in flight

  server.child.kill('SIGTERM')
  await listenerClosed(server) // the drain is over and the server is closing
  inFlight.finish()
  const answer = await inFlight.answer
  assert.equal(answer.status, 200, answer.body)
  assert.equal(answer.connection, 'close', 'the last answer on a kept-alive connection closes it')

  assert.equal(await exitWithin(server, EXIT_BOUND_MS), 0, `stderr: ${server.stderr.join('')}`)
  assert.deepEqual(fatalLines(server), [])
  assert.ok(server.stdout.some((line) => line.includes('"msg":"shutdown complete"')))
})

test('a pooling client still sending through the shutdown: every answer is sent, later ones close the connection, exit 0 at once', { timeout: 60_000 }, async (t) => {
  const { server, agent } = await start(t)
  const answers: Array<Answer & { afterClose: boolean }> = []
  const state = { closed: false, stop: false }

  // Keeps sending on the pooled sockets until the server refuses or resets a connection.
  async function sender (w: number): Promise<void> {
    for (let i = 0; !state.stop; i++) {
      try {
        const afterClose = state.closed // sent once the listener was closed: the server is closing
        const answer = await post(server, agent, `s${w}-${i}`).answer
        answers.push({ ...answer, afterClose })
      } catch {
        return
      }
    }
  }
  const senders = Array.from({ length: 4 }, (_, w) => sender(w))
  while (answers.length < 20) await sleep(10)

  const inFlight = post(server, agent, 'in-flight', true)
  await once(inFlight.req, 'socket')
  await sleep(100)
  server.child.kill('SIGTERM')
  await listenerClosed(server)
  state.closed = true
  inFlight.finish()
  const answer = await inFlight.answer
  assert.equal(answer.status, 200, answer.body)
  assert.equal(answer.connection, 'close')

  const code = await exitWithin(server, EXIT_BOUND_MS)
  state.stop = true
  await Promise.all(senders)
  assert.equal(code, 0, `stderr: ${server.stderr.join('')}`)
  assert.deepEqual(fatalLines(server), [])
  assert.deepEqual(answers.filter((a) => a.status !== 200).map((a) => `${a.status} ${a.body}`), [], 'every answer sent is a 200')
  const late = answers.filter((a) => a.afterClose)
  assert.ok(late.every((a) => a.connection === 'close'), `answers after the listener closed: ${JSON.stringify(late.map((a) => a.connection))}`)
})

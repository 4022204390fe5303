import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { connect } from 'node:net'
import { test } from 'node:test'
import { fileURLToPath } from 'node:url'
import { SECRET } from '../helper.ts'
import { collectLines, freePort } from '../helpers/server-process.ts'

// `npm start` as a developer or a process manager runs it, for real: npm, its prestart build, the shell
// it runs the script in, and the server. Signals and standard output cross all of them. These tests
// run one after the other: each rebuilds dist/ through prestart.

const ROOT = fileURLToPath(new URL('../..', import.meta.url))
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

interface Npm {
  pid: number
  stdout: string[]
  stderr: string[]
  exited: Promise<number | string>
  /** Resolves when every process holding npm's stdout (npm, the shell, the server) has closed it. */
  stdoutClosed: Promise<void>
}

function npm (args: string[], env: Record<string, string>, t: { after: (fn: () => unknown) => void }): Npm {
  // Its own process group, so that cleanup can reach a server npm left behind without touching anything else.
  const child = spawn('npm', args, {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true
  })
  const pid = child.pid!
  t.after(() => {
    try { process.kill(-pid, 'SIGKILL') } catch {} // already gone: nothing to clean
  })
  const { lines: stdout, end: endStdout } = collectLines(child.stdout)
  const stderr: string[] = []
  child.stderr.on('data', (chunk: Buffer) => { stderr.push(chunk.toString('utf8')) })
  const stdoutClosed = once(child.stdout, 'close').then(endStdout)
  const exited = new Promise<number | string>((resolve) => {
    child.once('exit', (code, signal) => resolve(code ?? signal ?? 'unknown'))
  })
  return { pid, stdout, stderr, exited, stdoutClosed }
}

async function bounded<T> (promise: Promise<T>, ms: number, what: () => string): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const late = new Promise<never>((_resolve, reject) => { timer = setTimeout(() => reject(new Error(what())), ms) })
  try {
    return await Promise.race([promise, late])
  } finally {
    clearTimeout(timer)
  }
}

async function refused (port: number): Promise<boolean> {
  const socket = connect(port, '127.0.0.1')
  const result = await new Promise<boolean>((resolve) => {
    socket.once('connect', () => resolve(false))
    socket.once('error', () => resolve(true))
  })
  socket.destroy()
  return result
}

/** `npm start` until the server listens; generous, since prestart builds first on a possibly loaded machine. */
async function npmStart (t: { after: (fn: () => unknown) => void }, env: Record<string, string> = {}) {
  const port = await freePort()
  const run = npm(['start'], { WEBHOOK_SECRET: SECRET, DATABASE_URL: 'sqlite::memory:', HOST: '127.0.0.1', PORT: String(port), ...env }, t)
  const output = () => `stdout:\n${run.stdout.join('\n')}\nstderr:\n${run.stderr.join('')}`
  for (let i = 0; i < 1200 && !run.stdout.some((line) => line.includes('Server listening')); i++) {
    assert.equal(await Promise.race([run.exited, sleep(100).then(() => null)]), null, `npm ended before the server listened\n${output()}`)
  }
  assert.equal((await fetch(`http://127.0.0.1:${port}/health/live`)).status, 200, output())
  return { run, port, output }
}

/** npm and the server have ended, nothing holds the port, stdout was JSON lines with one graceful shutdown. */
async function endedCleanly (run: Npm, port: number, output: () => string): Promise<void> {
  assert.equal(await bounded(run.exited, 20_000, () => `npm still running\n${output()}`), 0, output())
  await bounded(run.stdoutClosed, 20_000, () => `a process still holds npm's stdout: the server outlived npm\n${output()}`)
  assert.ok(await refused(port), 'nothing listens on the port any more')
  const lines = run.stdout.filter((line) => line !== '')
  for (const line of lines) assert.equal(typeof JSON.parse(line), 'object', `not a JSON object on stdout: ${line}`)
  const parsed = lines.map((line) => JSON.parse(line))
  assert.deepEqual(parsed.filter((line) => line.level === 'fatal'), [], output())
  assert.equal(parsed.filter((line) => line.msg === 'shutting down').length, 1, output())
  assert.ok(parsed.some((line) => line.msg === 'shutdown complete'), output())
}

test('SIGTERM to `npm start` reaches the server: shutdown lines, exit 0, nothing left listening; stdout is only JSON', { timeout: 180_000 }, async (t) => {
  const { run, port, output } = await npmStart(t)
  process.kill(run.pid, 'SIGTERM') // npm's own process, as a process manager would
  await endedCleanly(run, port, output)
  // npm is not silenced: its banners are there, on stderr.
  assert.match(run.stderr.join(''), /> hookvault@\S+ start\n> exec node dist\/server\.js/)
})

test('Ctrl-C on `npm start` (SIGINT to the whole process group, which npm forwards too) is one graceful shutdown', { timeout: 180_000 }, async (t) => {
  const { run, port, output } = await npmStart(t, { SHUTDOWN_DRAIN_MS: '1000' })
  process.kill(-run.pid, 'SIGINT') // what a terminal does: every process in the foreground group
  await endedCleanly(run, port, output)
})

test('npm reports its own errors: a missing script exits non-zero with a message on stderr', { timeout: 60_000 }, async (t) => {
  const run = npm(['run', 'no-such-script'], {}, t)
  assert.notEqual(await run.exited, 0)
  assert.match(run.stderr.join(''), /Missing script: "no-such-script"/)
})

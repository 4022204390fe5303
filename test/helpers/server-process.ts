import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Readable } from 'node:stream'
import { fileURLToPath } from 'node:url'
import { freePort } from '../../scripts/free-port.ts'

export { freePort }

const ROOT = fileURLToPath(new URL('../..', import.meta.url))
const SOURCE_ENTRY = ['--import', import.meta.resolve('tsx'), join(ROOT, 'src/server.ts')]

/** A child's output split into lines as it arrives; `end()` adds a last line that had no newline. */
export function collectLines (stream: Readable): { lines: string[], end: () => void } {
  const lines: string[] = []
  let partial = ''
  stream.on('data', (chunk: Buffer) => {
    const parts = (partial + chunk.toString('utf8')).split('\n')
    partial = parts.pop() ?? ''
    lines.push(...parts)
  })
  return {
    lines,
    end: () => {
      if (partial !== '') lines.push(partial)
      partial = ''
    }
  }
}

export interface ServerProcess {
  child: ChildProcessWithoutNullStreams
  url: string
  port: number
  /** Every stdout line so far, raw. */
  stdout: string[]
  stderr: string[]
  /** Resolves with the exit code (or signal name) once the process has ended. */
  exited: Promise<number | string>
  /** SIGKILL if still running, and wait for the end. */
  kill (signal?: NodeJS.Signals): Promise<number | string>
}

export interface StartOptions {
  /** false: resolve at once, without waiting for /health/live. */
  waitReady?: boolean
  /** Node's arguments; the source through tsx unless given (the production bundle's test passes its file). */
  args?: string[]
  /**
   * The working directory; by default a fresh empty one, removed at exit, so that a developer's .env in
   * the repository (which the server reads from its working directory) never leaks into a test.
   */
  cwd?: string
}

/**
 * The real server (src/server.ts through tsx, unless `args` names another entry) as a child process on a
 * free loopback port.
 * Resolves once /health/live answers, so callers can send traffic at once.
 */
export async function startServer (env: Record<string, string>, options: StartOptions = {}): Promise<ServerProcess> {
  const port = Number(env.PORT ?? await freePort())
  // node itself with tsx as a loader, not the tsx CLI: that one runs the server as a grandchild, which
  // a SIGKILL of the child would leave running.
  const cwd = options.cwd ?? mkdtempSync(join(tmpdir(), 'hookvault-cwd-'))
  const child = spawn(process.execPath, options.args ?? SOURCE_ENTRY, {
    cwd,
    env: { PATH: process.env.PATH ?? '', HOST: '127.0.0.1', LOG_LEVEL: 'info', ...env, PORT: String(port) },
    stdio: ['pipe', 'pipe', 'pipe']
  })
  const { lines: stdout, end: endStdout } = collectLines(child.stdout)
  const stderr: string[] = []
  child.stderr.on('data', (chunk: Buffer) => { stderr.push(chunk.toString('utf8')) })
  const exited = new Promise<number | string>((resolve) => {
    child.once('exit', (code, signal) => {
      if (options.cwd === undefined) rmSync(cwd, { recursive: true, force: true })
      endStdout()
      resolve(code ?? signal ?? 'unknown')
    })
  })
  const url = `http://127.0.0.1:${port}`
  const server: ServerProcess = {
    child,
    url,
    port,
    stdout,
    stderr,
    exited,
    async kill (signal = 'SIGKILL') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal)
      return exited
    }
  }
  if (options.waitReady === false) return server
  const deadline = Date.now() + 20_000
  const state = { ended: false }
  exited.then(() => { state.ended = true }, () => {})
  while (Date.now() < deadline && !state.ended) {
    try {
      const response = await fetch(`${url}/health/live`)
      if (response.ok) return server
    } catch {}
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
  await server.kill()
  throw new Error(`server did not start: ${stdout.join('\n')}\n${stderr.join('')}`)
}

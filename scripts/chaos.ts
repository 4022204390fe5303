/**
 * Crash harness: nothing acknowledged is ever lost.
 *
 *   npm run chaos -- --cycles 200 [--concurrency 16] [--seed 42] [--dir /tmp/x] [--keep] [--unsafe]
 *
 * Each cycle starts the real server (node + tsx, src/server.ts) on the same database file, drives
 * concurrent signed deliveries (new ids, the same new id twice at once, re-sends of acknowledged ids
 * with the same body and with a different one), and SIGKILLs it at a random instant. After every
 * restart it checks, on the file and through the API:
 *   - every id that got a 200 is stored exactly once, with the body of its first acknowledged delivery;
 *   - an id that never got a 200 is absent or stored once with a body that was sent for it;
 *   - no row the harness never sent; /stats and /messages agree with the rows; PRAGMA integrity_check is ok.
 * It prints a summary and the first violations in full, and exits 1 on any violation.
 *
 * --unsafe runs the server in its deliberately unsafe mode (200 before the commit), to show the harness
 * catches the loss that mode causes; see docs/reliability.md.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { parseArgs } from 'node:util'
import Database from 'better-sqlite3'
import { UNSAFE_ACK_CONFIRMATION } from '../schemas/env.ts'
import { sign } from '../src/lib/signature.ts'
import { freePort } from './free-port.ts'
import { random as seeded } from './random.ts'

const ROOT = fileURLToPath(new URL('..', import.meta.url))
const SECRET = 'chaos-secret'

export interface ChaosOptions {
  cycles: number
  concurrency: number
  seed: number
  /** Directory for the database; a fresh temp directory (removed afterwards) when absent. */
  dir?: string
  keep?: boolean
  unsafe?: boolean
  /** Load runs this long at most before the kill (a random instant up to it). */
  maxLoadMs?: number
  /** Progress lines; silent when absent. */
  log?: (line: string) => void
}

export interface Violation {
  cycle: number
  kind: 'lost' | 'duplicated' | 'mismatched' | 'phantom' | 'stats' | 'integrity' | 'unexpected_status'
  message_id?: string
  expected?: unknown
  actual?: unknown
}

export interface ChaosReport {
  seed: number
  cycles: number
  kills: number
  requests: number
  responses: Record<string, number>
  /** Distinct ids that got a 200. */
  acked: number
  lost: number
  duplicated: number
  mismatched: number
  violations: Violation[]
  rows: number
}

interface Ledger {
  /** The body of the first delivery of the id; variants are sent only once the id is acknowledged. */
  body: string
  acked: boolean
}

interface Row {
  message_id: string
  from: string
  to: string
  ts: string
  text: string | null
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

interface Running {
  child: ChildProcess
  url: string
  output: string[]
  exited: Promise<unknown>
}

function spawnServer (file: string, port: number, unsafe: boolean): Running {
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? '',
    WEBHOOK_SECRET: SECRET,
    DATABASE_URL: `sqlite:///${file}`,
    HOST: '127.0.0.1',
    PORT: String(port),
    LOG_LEVEL: 'warn'
  }
  if (unsafe) env.HOOKVAULT_UNSAFE_ACK_BEFORE_COMMIT = UNSAFE_ACK_CONFIRMATION
  // node itself with the tsx loader: SIGKILL must reach the server, not a wrapper around it. Run in the
  // database's directory, not the repository, whose .env (read by the server) would add to `env`.
  const child = spawn(process.execPath, ['--import', import.meta.resolve('tsx'), join(ROOT, 'src/server.ts')],
    { cwd: dirname(file), env, stdio: ['ignore', 'pipe', 'pipe'] })
  const output: string[] = []
  const keep = (chunk: Buffer) => {
    output.push(chunk.toString('utf8'))
    if (output.length > 50) output.shift()
  }
  child.stdout!.on('data', keep)
  child.stderr!.on('data', keep)
  const exited = new Promise((resolve) => child.once('exit', resolve))
  return { child, url: `http://127.0.0.1:${port}`, output, exited }
}

async function waitReady (server: Running): Promise<void> {
  for (let attempt = 0; attempt < 300; attempt++) {
    if (server.child.exitCode !== null || server.child.signalCode !== null) break
    try {
      const response = await fetch(`${server.url}/health/ready`, { signal: AbortSignal.timeout(2000) })
      if (response.status === 200) return
    } catch {}
    await sleep(50)
  }
  throw new Error(`the server did not become ready:\n${server.output.join('')}`)
}

async function kill (server: Running): Promise<void> {
  if (server.child.exitCode === null && server.child.signalCode === null) server.child.kill('SIGKILL')
  await server.exited
}

export async function runChaos (options: ChaosOptions): Promise<ChaosReport> {
  // A seed replays the same choices (not the same timings).
  const random = seeded(options.seed)
  const log = options.log ?? (() => {})
  const dir = options.dir ?? mkdtempSync(join(tmpdir(), 'hookvault-chaos-'))
  const file = join(dir, 'chaos.db')
  const maxLoadMs = options.maxLoadMs ?? 1500
  const ledger = new Map<string, Ledger>()
  const ackedIds: string[] = []
  const violations: Violation[] = []
  const report: ChaosReport = {
    seed: options.seed, cycles: 0, kills: 0, requests: 0, responses: {}, acked: 0, lost: 0, duplicated: 0, mismatched: 0, violations, rows: 0
  }
  let nextId = 0

  const violate = (v: Violation) => {
    violations.push(v)
    if (v.kind === 'lost') report.lost++
    if (v.kind === 'duplicated') report.duplicated++
    if (v.kind === 'mismatched') report.mismatched++
  }

  function newBody (id: string): string {
    const sender = `+91${9_000_000_000 + Math.floor(random() * 12)}`
    const day = 1 + Math.floor(random() * 28)
    const fraction = random() < 0.3 ? `.${Math.floor(random() * 1000)}` : ''
    const text = random() < 0.1 ? null : `body of ${id} ${'é✓'.repeat(Math.floor(random() * 40))}`
    return JSON.stringify({ message_id: id, from: sender, to: '+14155550100', ts: `2025-01-${String(day).padStart(2, '0')}T10:00:00${fraction}Z`, text })
  }

  async function send (url: string, id: string, payload: string): Promise<void> {
    report.requests++
    let status: number
    try {
      const response = await fetch(`${url}/webhook`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-signature': sign(SECRET, payload) },
        body: payload,
        signal: AbortSignal.timeout(10_000)
      })
      await response.arrayBuffer()
      status = response.status
    } catch {
      report.responses.error = (report.responses.error ?? 0) + 1
      return // killed mid-request: no answer, no promise made
    }
    report.responses[status] = (report.responses[status] ?? 0) + 1
    const entry = ledger.get(id)!
    if (status === 200 && !entry.acked) {
      entry.acked = true
      ackedIds.push(id)
    } else if (status !== 200 && status !== 503) {
      violate({ cycle: report.cycles, kind: 'unexpected_status', message_id: id, expected: '200 or 503', actual: status })
    }
  }

  /** One delivery of the kinds a provider produces. */
  async function act (url: string): Promise<void> {
    const roll = random()
    if (roll < 0.55 || ackedIds.length === 0) {
      const id = `c${nextId++}`
      ledger.set(id, { body: newBody(id), acked: false })
      const body = ledger.get(id)!.body
      // Now and then the same new id twice at once: exactly one row, both 200.
      await (random() < 0.15 ? Promise.all([send(url, id, body), send(url, id, body)]) : send(url, id, body))
      return
    }
    const id = ackedIds[Math.floor(random() * ackedIds.length)]!
    const entry = ledger.get(id)!
    if (roll < 0.8) return send(url, id, entry.body) // a provider's retry: same bytes
    // The same id with another body: first write wins, so nothing may change.
    const other = JSON.parse(newBody(id)) as Record<string, unknown>
    return send(url, id, JSON.stringify({ ...other, text: `second body ${random()}` }))
  }

  async function verify (url: string): Promise<void> {
    const cycle = report.cycles
    const db = new Database(file, { fileMustExist: true, timeout: 5000 })
    try {
      const integrity = db.pragma('integrity_check', { simple: true })
      if (integrity !== 'ok') violate({ cycle, kind: 'integrity', expected: 'ok', actual: integrity })
      const rows = db.prepare('SELECT message_id, from_msisdn AS "from", to_msisdn AS "to", ts, text FROM messages').all() as Row[]
      report.rows = rows.length
      const byId = new Map<string, Row>()
      for (const row of rows) {
        if (byId.has(row.message_id)) violate({ cycle, kind: 'duplicated', message_id: row.message_id, actual: row })
        byId.set(row.message_id, row)
      }
      for (const [id, entry] of ledger) {
        const row = byId.get(id)
        const expected = JSON.parse(entry.body) as Row
        if (row === undefined) {
          if (entry.acked) violate({ cycle, kind: 'lost', message_id: id, expected })
          continue
        }
        const same = row.from === expected.from && row.to === expected.to && row.ts === expected.ts && row.text === expected.text
        if (!same) violate({ cycle, kind: 'mismatched', message_id: id, expected, actual: row })
      }
      for (const id of byId.keys()) {
        if (!ledger.has(id)) violate({ cycle, kind: 'phantom', message_id: id, actual: byId.get(id) })
      }
      const senders = db.prepare('SELECT count(DISTINCT from_msisdn) FROM messages').pluck().get() as number
      const stats = await (await fetch(`${url}/stats`)).json() as { total_messages: number, senders_count: number }
      const page = await (await fetch(`${url}/messages?limit=1`)).json() as { total: number }
      if (stats.total_messages !== rows.length || stats.senders_count !== senders || page.total !== rows.length) {
        violate({
          cycle,
          kind: 'stats',
          expected: { total_messages: rows.length, senders_count: senders, messages_total: rows.length },
          actual: { total_messages: stats.total_messages, senders_count: stats.senders_count, messages_total: page.total }
        })
      }
    } finally {
      db.close()
    }
  }

  try {
    for (let cycle = 1; cycle <= options.cycles; cycle++) {
      report.cycles = cycle
      const server = spawnServer(file, await freePort(), options.unsafe === true)
      try {
        // One cycle in ten dies while starting (opening, migrating, recovering the WAL).
        if (cycle > 1 && random() < 0.1) {
          await sleep(Math.floor(random() * 400))
          await kill(server)
          report.kills++
          log(`cycle ${cycle}: killed while starting`)
          continue
        }
        await waitReady(server)
        await verify(server.url) // what the previous kill left behind
        const load = { stop: false }
        const workers = Array.from({ length: options.concurrency }, async () => {
          while (!load.stop) await act(server.url)
        })
        await sleep(50 + Math.floor(random() * maxLoadMs))
        load.stop = true // the requests in flight now are the ones the kill interrupts
        await kill(server)
        report.kills++
        await Promise.all(workers)
        log(`cycle ${cycle}: killed; ${ackedIds.length} ids acknowledged so far, ${violations.length} violations`)
      } finally {
        await kill(server)
      }
    }
    // A last start, to check what the last kill left behind.
    const server = spawnServer(file, await freePort(), options.unsafe === true)
    try {
      await waitReady(server)
      report.cycles++
      await verify(server.url)
    } finally {
      await kill(server)
    }
  } finally {
    if (options.dir === undefined && options.keep !== true) rmSync(dir, { recursive: true, force: true })
  }
  report.cycles-- // the final check is not a crash cycle
  report.acked = ackedIds.length
  return report
}

export function formatReport (report: ChaosReport, showViolations = 10): string {
  const lines = [
    `chaos: seed=${report.seed} cycles=${report.cycles} kills=${report.kills} requests=${report.requests} ` +
      `responses=${JSON.stringify(report.responses)} rows=${report.rows}`,
    `chaos: acked=${report.acked} lost=${report.lost} duplicated=${report.duplicated} mismatched=${report.mismatched} ` +
      `violations=${report.violations.length}`
  ]
  for (const v of report.violations.slice(0, showViolations)) lines.push(`violation: ${JSON.stringify(v)}`)
  if (report.violations.length > showViolations) lines.push(`… and ${report.violations.length - showViolations} more`)
  lines.push(report.violations.length === 0 ? 'chaos: OK, nothing acknowledged was lost' : 'chaos: FAILED')
  return lines.join('\n')
}

async function main (): Promise<void> {
  const { values } = parseArgs({
    options: {
      cycles: { type: 'string', default: '20' },
      concurrency: { type: 'string', default: '16' },
      seed: { type: 'string' },
      dir: { type: 'string' },
      keep: { type: 'boolean', default: false },
      unsafe: { type: 'boolean', default: false },
      'max-load-ms': { type: 'string', default: '1500' },
      quiet: { type: 'boolean', default: false }
    }
  })
  const options: ChaosOptions = {
    cycles: Number(values.cycles),
    concurrency: Number(values.concurrency),
    seed: values.seed === undefined ? Math.floor(Math.random() * 2 ** 31) : Number(values.seed),
    unsafe: values.unsafe,
    keep: values.keep,
    maxLoadMs: Number(values['max-load-ms'])
  }
  if (values.dir !== undefined) options.dir = values.dir
  if (!values.quiet) options.log = (line) => console.log(line)
  for (const [name, value] of [['cycles', options.cycles], ['concurrency', options.concurrency], ['seed', options.seed], ['max-load-ms', options.maxLoadMs]] as const) {
    if (value === undefined || !Number.isInteger(value) || value < (name === 'seed' ? 0 : 1)) {
      console.error(`--${name} must be a positive integer`)
      process.exit(2)
    }
  }
  if (options.unsafe === true) console.log('chaos: running the server in its UNSAFE mode (200 before commit): violations are expected')
  const started = Date.now()
  const report = await runChaos(options)
  console.log(formatReport(report))
  console.log(`chaos: ${((Date.now() - started) / 1000).toFixed(1)} s`)
  process.exitCode = report.violations.length === 0 ? 0 : 1
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) await main()

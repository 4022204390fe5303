/**
 * `npm run bench -- --floors`: the service against the least a durable server must do, in interleaved
 * rounds, instead of the default rounds. Four servers, each pinned to the server core and on its own copy
 * of the seeded file (growing across the rounds):
 *
 * - the bare Fastify baseline (bench/baseline.ts): no signature, no database;
 * - the primary-key-only floor (bench/floor.ts, FLOOR_SCHEMA=pk): the contract's columns and the
 *   primary key alone, on a copy of the seed holding the same rows (pkSeed below);
 * - the ts_key floor (bench/floor.ts): the store's own save, with its ts_key index;
 * - the service, in its production configuration.
 *
 * Each round takes one load round per tool against each server, in an order that rotates every time so
 * drift in the machine's speed favours none. After the service's turn it waits for the deferred indexer to
 * catch up (its CPU is reported, for ratios "including the indexer") and checks rows added = created; the
 * floors' rows are checked against their count of new rows too.
 */
import { copyFileSync, existsSync, renameSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import Database from 'better-sqlite3'

interface Server { child: import('node:child_process').ChildProcess, url: string, pid: number }
interface LoadSummary { tool: string, rps: number, p50: number, p99: number, ok: number, non2xx: number, errors: number, sent: number }

/** What run.ts lends: its servers, its load rounds and its ways of watching a process. */
export interface FloorsTools {
  rows: number
  rounds: number
  tools: string[]
  dir: string
  seedFile: string
  port: number
  serviceCommand: string[]
  serviceEnv: Record<string, string>
  serviceLog: string
  /** Pinned `node … <script>`, for bench/baseline.ts and bench/floor.ts. */
  benchCommand: (script: string) => string[]
  log: (line: string) => void
  startServer: (command: string[], env: Record<string, string>, logFile: string | null, readyPath: string) => Promise<Server & { readyMs: number }>
  stop: (server: Server) => Promise<void>
  load: (url: string, tool: string, prefix: string, seconds?: number) => Promise<LoadSummary>
  measuredLoad: (target: Server, tool: string, prefix: string) => Promise<{ result: LoadSummary, cpu: number }>
  cpuSeconds: (pid: number) => number
  quiet: (pid: number) => Promise<number>
  json: (url: string) => Promise<any>
  createdCount: (url: string) => Promise<number>
}

export const TARGETS = ['baseline', 'pk floor', 'ts_key floor', 'service'] as const
export type Target = typeof TARGETS[number]

export interface Measured {
  result: LoadSummary
  cpuSeconds: number
  /** Rows the server's file gained, and the new rows the server says it inserted (none for the baseline). */
  rowsAdded?: number
  created?: number
  /** The service only: the deferred indexer's catch-up after its turn. */
  catchUpSeconds?: number
  catchUpCpuSeconds?: number
}

export interface FloorsRound {
  round: number
  tool: string
  /** The order the four servers were measured in. */
  order: Target[]
  measured: Record<Target, Measured>
}

/**
 * The seed with the contract's columns and the primary key alone, in a file of its own next to the
 * seed (built once, cached). Rows go in the seed's insertion order (rowid), so its primary-key B-tree
 * grows the way the service's did.
 */
export function pkSeed (seedFile: string): string {
  const pkFile = seedFile.replace(/\.db$/, '-pk.db')
  if (existsSync(pkFile)) return pkFile
  const building = `${pkFile}.building`
  rmSync(building, { force: true })
  const db = new Database(building)
  db.exec(`CREATE TABLE messages (
    message_id  TEXT PRIMARY KEY,
    from_msisdn TEXT NOT NULL,
    to_msisdn   TEXT NOT NULL,
    ts          TEXT NOT NULL,
    text        TEXT,
    created_at  TEXT NOT NULL
  )`)
  db.prepare('ATTACH DATABASE ? AS seed').run(seedFile)
  db.exec(`INSERT INTO main.messages SELECT message_id, from_msisdn, to_msisdn, ts, text, created_at
    FROM seed.messages ORDER BY rowid`)
  db.exec('DETACH DATABASE seed')
  db.pragma('journal_mode = WAL')
  db.close()
  // Only a complete file takes the cached name: an interrupted build is started again next time.
  renameSync(building, pkFile)
  return pkFile
}

function rowCount (file: string): number {
  const db = new Database(file, { readonly: true })
  try {
    return (db.prepare('SELECT count(*) AS n FROM messages').get() as { n: number }).n
  } finally {
    db.close()
  }
}

export async function floorsBench (t: FloorsTools): Promise<FloorsRound[]> {
  const pkFile = join(t.dir, 'floor-pk.db')
  const storeFile = join(t.dir, 'floor-store.db')
  copyFileSync(pkSeed(t.seedFile), pkFile)
  copyFileSync(t.seedFile, storeFile)
  const floorEnv = (file: string, schema: string, port: number) =>
    ({ ...t.serviceEnv, DATABASE_URL: `sqlite:///${file}`, FLOOR_SCHEMA: schema, PORT: String(port) })
  const servers: Partial<Record<Target, Server>> = {}
  try {
    servers.service = await t.startServer(t.serviceCommand, t.serviceEnv, t.serviceLog, '/health/ready')
    servers.baseline = await t.startServer(t.benchCommand('bench/baseline.ts'), { PORT: String(t.port + 1) }, null, '/webhook')
    servers['pk floor'] = await t.startServer(t.benchCommand('bench/floor.ts'), floorEnv(pkFile, 'pk', t.port + 3), null, '/health/ready')
    servers['ts_key floor'] = await t.startServer(t.benchCommand('bench/floor.ts'), floorEnv(storeFile, 'store', t.port + 4), null, '/health/ready')
    const server = (target: Target) => servers[target]!

    t.log('warm-up')
    for (const target of TARGETS) await t.load(server(target).url, 'autocannon', `fw${target[0]}-`, 2)
    await t.quiet(server('service').pid)

    const files: Partial<Record<Target, string>> = { 'pk floor': pkFile, 'ts_key floor': storeFile }
    const rounds: FloorsRound[] = []
    for (let r = 0; r < t.rounds; r++) {
      for (const [i, tool] of t.tools.entries()) {
        const turn = r * t.tools.length + i
        const order = TARGETS.map((_, k) => TARGETS[(k + turn) % TARGETS.length]!)
        const measured: Partial<Record<Target, Measured>> = {}
        for (const target of order) {
          const prefix = `f${r}${tool[0]}${target[0]}-`
          if (target === 'service') {
            const s = server(target)
            const before = { rows: (await t.json(`${s.url}/stats`)).total_messages as number, created: await t.createdCount(s.url) }
            const { result, cpu } = await t.measuredLoad(s, tool, prefix)
            // The indexer catches up before the next server runs on the same core.
            const cpuAtEnd = t.cpuSeconds(s.pid)
            const catchUpSeconds = await t.quiet(s.pid)
            const catchUpCpuSeconds = t.cpuSeconds(s.pid) - cpuAtEnd
            const after = { rows: (await t.json(`${s.url}/stats`)).total_messages as number, created: await t.createdCount(s.url) }
            measured[target] = { result, cpuSeconds: cpu, rowsAdded: after.rows - before.rows, created: after.created - before.created, catchUpSeconds, catchUpCpuSeconds }
          } else if (target === 'baseline') {
            const { result, cpu } = await t.measuredLoad(server(target), tool, prefix)
            measured[target] = { result, cpuSeconds: cpu }
          } else {
            const s = server(target)
            const file = files[target]!
            const before = { rows: rowCount(file), created: (await t.json(`${s.url}/floor/created`)).created as number }
            const { result, cpu } = await t.measuredLoad(s, tool, prefix)
            const after = { rows: rowCount(file), created: (await t.json(`${s.url}/floor/created`)).created as number }
            measured[target] = { result, cpuSeconds: cpu, rowsAdded: after.rows - before.rows, created: after.created - before.created }
          }
          t.log(`floors round ${r + 1} ${tool} ${target}: ${measured[target]!.result.rps.toFixed(0)} req/s, p99 ${measured[target]!.result.p99} ms`)
        }
        rounds.push({ round: r + 1, tool, order, measured: measured as Record<Target, Measured> })
      }
    }
    return rounds
  } finally {
    for (const s of Object.values(servers)) await t.stop(s)
  }
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!
const cpuPerRequest = (m: Measured, withIndexer = false) => ((m.cpuSeconds + (withIndexer ? m.catchUpCpuSeconds ?? 0 : 0)) * 1e6) / m.result.sent

/** The pairs the table gives ratios for: numerator over denominator. */
const RATIOS: ReadonlyArray<[Target, Target]> = [
  ['service', 'pk floor'], ['service', 'ts_key floor'], ['service', 'baseline'],
  ['pk floor', 'baseline'], ['ts_key floor', 'baseline'], ['ts_key floor', 'pk floor']
]

/**
 * By req/s: a's over b's. By CPU: b's CPU per request over a's, the req/s ratio were the server's core the
 * only limit. `indexer`: the service's CPU per request includes its catch-up after the round.
 */
function ratios (round: FloorsRound, indexer: boolean): Array<{ rps: number, cpu: number }> {
  return RATIOS.map(([a, b]) => ({
    rps: round.measured[a].result.rps / round.measured[b].result.rps,
    cpu: cpuPerRequest(round.measured[b], indexer) / cpuPerRequest(round.measured[a], indexer)
  }))
}

export function floorsTable (rounds: FloorsRound[], heading: string): string {
  const lines: string[] = [heading, '']
  const row = (...cells: string[]) => lines.push(`| ${cells.join(' | ')} |`)
  row('round', 'tool', 'server (turn)', 'req/s', 'p50 / p99 ms', 'CPU µs/req', 'non-2xx', 'rows added = created', 'client 2xx', 'catch-up s (CPU s)')
  row('---:', '---', '---', '---:', '---:', '---:', '---:', '---', '---:', '---:')
  for (const round of rounds) {
    for (const target of TARGETS) {
      const m = round.measured[target]
      // As in run.ts: the client stops counting at the deadline with up to one request per connection in flight.
      const check = m.rowsAdded === undefined
        ? ''
        : `${m.rowsAdded === m.created && m.created! - m.result.ok >= 0 && m.created! - m.result.ok <= 50 ? 'yes' : 'NO'} (${m.rowsAdded} = ${m.created})`
      row(String(round.round), round.tool, `${target} (${round.order.indexOf(target) + 1})`, m.result.rps.toFixed(0), `${m.result.p50} / ${m.result.p99}`,
        cpuPerRequest(m).toFixed(1), String(m.result.non2xx + m.result.errors), check, String(m.result.ok),
        m.catchUpSeconds === undefined ? '' : `${m.catchUpSeconds.toFixed(1)} (${m.catchUpCpuSeconds!.toFixed(2)})`)
    }
  }
  lines.push('', 'ratios per round: by req/s; by CPU per request (the other\'s µs/req ÷ this one\'s); by CPU with the service\'s indexer catch-up:', '')
  row('round', 'tool', ...RATIOS.map(([a, b]) => `${a} / ${b}`))
  row('---:', '---', ...RATIOS.map(() => '---:'))
  const cell = (values: Array<{ rps: number, cpu: number }>, withIndexer: Array<{ rps: number, cpu: number }>, k: number) =>
    `${values[k]!.rps.toFixed(3)}; ${values[k]!.cpu.toFixed(3)}; ${withIndexer[k]!.cpu.toFixed(3)}`
  for (const round of rounds) {
    const plain = ratios(round, false)
    const indexer = ratios(round, true)
    row(String(round.round), round.tool, ...RATIOS.map((_, k) => cell(plain, indexer, k)))
  }
  lines.push('', 'medians over the rounds:', '')
  row('tool', 'server', 'req/s', 'p50 ms', 'p99 ms', 'CPU µs/req', 'CPU µs/req with the indexer')
  row('---', '---', '---:', '---:', '---:', '---:', '---:')
  const tools = [...new Set(rounds.map((r) => r.tool))]
  for (const tool of tools) {
    const mine = rounds.filter((r) => r.tool === tool)
    for (const target of TARGETS) {
      const ms = mine.map((r) => r.measured[target])
      row(tool, target, median(ms.map((m) => m.result.rps)).toFixed(0), String(median(ms.map((m) => m.result.p50))), String(median(ms.map((m) => m.result.p99))),
        median(ms.map((m) => cpuPerRequest(m))).toFixed(1), target === 'service' ? median(ms.map((m) => cpuPerRequest(m, true))).toFixed(1) : '')
    }
  }
  lines.push('')
  row('tool', 'ratio', 'by req/s', 'by CPU per request', 'by CPU, service with the indexer')
  row('---', '---', '---:', '---:', '---:')
  for (const tool of tools) {
    const mine = rounds.filter((r) => r.tool === tool)
    const plain = mine.map((r) => ratios(r, false))
    const indexer = mine.map((r) => ratios(r, true))
    for (const [k, [a, b]] of RATIOS.entries()) {
      row(tool, `${a} / ${b}`, median(plain.map((x) => x[k]!.rps)).toFixed(3), median(plain.map((x) => x[k]!.cpu)).toFixed(3),
        a === 'service' ? median(indexer.map((x) => x[k]!.cpu)).toFixed(3) : '')
    }
  }
  return lines.join('\n')
}

/**
 * `npm run bench [-- --quick] [-- --rows N --seconds S --rounds R] [-- --ids counter|provider]`
 * `npm run bench -- --floors [--rows N --seconds S --rounds R]`, `npm run bench -- --burst [--burst-count N --burst-reads M]`
 *
 * 1. Seeds a database with --rows synthetic messages through the storage layer (bench/seed.ts),
 *    cached in bench-results/ so reruns start at once.
 * 2. Starts hookvault on a copy of it in its default production configuration (request logging at
 *    info to a file, metrics on, synchronous=FULL) and a bare Fastify baseline, both pinned to core 0.
 * 3. Measures read latencies at that size (before any ingest, so "at N rows" means N).
 * 4. Runs interleaved ingest rounds with the load generator in its own process on core 1: autocannon
 *    and wrk, service and baseline alternating, 50 connections, unique ids from ~1,000 senders.
 *    After each service round: waits for the indexer to catch up, then checks rows added = 2xx = created.
 * 5. One more autocannon round while a dashboard repeats the slowest search (a common word with since).
 * 6. With --breakdown: an autocannon and a wrk round, each beside a baseline round, against the service
 *    in configurations that each leave a cost out (the access-log line, the database file) or cap the
 *    young generation, and against the durable floor (bench/floor.ts), to show where the CPU and memory
 *    per delivery go. Never the headline figure.
 * 7. Restarts the service on the grown file and times start → ready.
 * With --lifecycle: export, retention and backup instead (bench/lifecycle.ts).
 * With --floors: the service beside the baseline and two durable floors in interleaved rounds instead
 * (bench/floors.ts). With --burst: reads during, right after and after a burst of deliveries instead
 * (bench/burst.ts).
 * --ids provider: the load generator sends random provider-like ids instead of counters (bench/load.ts).
 * Prints one table and writes bench-results/bench-<time>.json (floors-<time>.json, burst-<time>.json).
 *
 * `--engine postgres` runs the same steps against the PostgreSQL engine: a throwaway cluster under
 * bench-results/pg-cluster (or the server `--postgres-url` names), seeded once with the same rows
 * (bench/seed-postgres.ts) and copied per run (bench/postgres-cluster.ts). PostgreSQL's own processes
 * are not pinned: they share both cores with the service and the load generator. After the rounds, the
 * SQLite engine takes one round per tool on its own seeded copy, so both ingest figures come from one run.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { closeSync, copyFileSync, existsSync, openSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { availableParallelism, cpus } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { buildServer } from '../scripts/build.ts'
import { sender, RARE_WORD } from './data.ts'
import { burstBench, burstTable } from './burst.ts'
import { floorsBench, floorsTable } from './floors.ts'
import { lifecycleBench } from './lifecycle.ts'
import { percentile } from './percentile.ts'
import { runDatabase, startCluster, type Cluster } from './postgres-cluster.ts'

const ROOT = new URL('..', import.meta.url).pathname
const OUT = join(ROOT, 'bench-results')
const SECRET = 'bench-secret'

const { values } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    rows: { type: 'string' },
    seconds: { type: 'string' },
    rounds: { type: 'string' },
    runs: { type: 'string' },
    'skip-reads': { type: 'boolean', default: false },
    breakdown: { type: 'boolean', default: false },
    lifecycle: { type: 'boolean', default: false },
    floors: { type: 'boolean', default: false },
    burst: { type: 'boolean', default: false },
    'burst-count': { type: 'string', default: '100000' },
    /** Reads per query shape right after the burst, and again at rest. */
    'burst-reads': { type: 'string', default: '100' },
    ids: { type: 'string', default: 'counter' },
    engine: { type: 'string', default: 'sqlite' },
    // The service listens here, the baseline one above, the second engine two above: another run on the
    // same machine needs other ports.
    port: { type: 'string', default: '18000' },
    'postgres-url': { type: 'string' }
  }
})
/** wrk when it is installed; autocannon (an npm dependency) always. */
const TOOLS = spawnSync('wrk', ['--version']).error === undefined ? ['autocannon', 'wrk'] : ['autocannon']
const PORT = Number(values.port)
const ENGINE = values.engine
if (ENGINE !== 'sqlite' && ENGINE !== 'postgres') throw new Error('--engine is sqlite or postgres')
if (ENGINE === 'postgres' && (values.breakdown || values.lifecycle || values.floors || values.burst)) throw new Error('--breakdown, --lifecycle, --floors and --burst measure the SQLite engine only')
if ([values.lifecycle, values.floors, values.burst].filter(Boolean).length > 1) throw new Error('--lifecycle, --floors and --burst are separate runs: one at a time')
const IDS = values.ids
if (IDS !== 'counter' && IDS !== 'provider') throw new Error('--ids is counter or provider')
const quick = values.quick
const ROWS = Number(values.rows ?? (quick ? 100_000 : 1_000_000))
const SECONDS = Number(values.seconds ?? (quick ? 3 : 10))
const ROUNDS = Number(values.rounds ?? (quick ? 1 : 3))
const RUNS = Number(values.runs ?? (quick ? 30 : 200))
const PINNED = availableParallelism() >= 2
const SERVER_CORE = '0'
const LOAD_CORE = '1'

let runner = ''
const log = (line: string) => process.stderr.write(`[bench] ${line}\n`)
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))
const pinned = (core: string, command: string[]) => PINNED ? ['taskset', '-c', core, ...command] : command

function run (command: string[], env: Record<string, string> = {}): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(command[0]!, command.slice(1), { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'inherit'] })
    let out = ''
    child.stdout.on('data', (chunk) => { out += chunk })
    child.on('exit', (code) => code === 0 ? resolve(out) : reject(new Error(`${command.join(' ')} exited ${code}`)))
  })
}

interface Server { child: ChildProcess, url: string, pid: number }

/** Servers this run started and has not stopped: killed if the run fails, so none outlives it holding its port. */
const running = new Set<ChildProcess>()
process.on('exit', () => { for (const child of running) child.kill('SIGKILL') })

async function startServer (command: string[], env: Record<string, string>, logFile: string | null, readyPath: string): Promise<Server & { readyMs: number }> {
  // Something already answering there (another run) would be measured in place of this server.
  const taken = await fetch(`http://127.0.0.1:${env.PORT}/`).then(() => true, () => false)
  if (taken) throw new Error(`port ${env.PORT} is already in use: pass --port with a free one`)
  const started = performance.now()
  // The log file is the child's own stdout, as with `> service.log`: no pipe through this process,
  // whose copying would cost CPU on the cores being measured.
  const output = logFile === null ? 'ignore' : openSync(logFile, 'a')
  const child = spawn(command[0]!, command.slice(1), { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['ignore', output, output] })
  if (typeof output === 'number') closeSync(output)
  running.add(child)
  child.once('exit', () => running.delete(child))
  const url = `http://127.0.0.1:${env.PORT}`
  for (let i = 0; i < 3000; i++) {
    try {
      if ((await fetch(url + readyPath, { method: readyPath === '/webhook' ? 'POST' : 'GET' })).status < 500) {
        return { child, url, pid: child.pid!, readyMs: performance.now() - started }
      }
    } catch {}
    if (child.exitCode !== null) break
    await sleep(5)
  }
  child.kill('SIGKILL')
  throw new Error(`${command.join(' ')} did not become ready`)
}

async function stop (server: Server): Promise<void> {
  if (server.child.exitCode !== null) return
  server.child.kill('SIGTERM')
  await new Promise((resolve) => server.child.once('exit', resolve))
}

/** user + system CPU seconds a process has used, from /proc. */
function cpuSeconds (pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ')
  return (Number(fields[11]) + Number(fields[12])) / 100
}

function rssMb (pid: number, field: 'VmRSS' | 'VmHWM' = 'VmRSS'): number {
  const line = readFileSync(`/proc/${pid}/status`, 'utf8').split('\n').find((l) => l.startsWith(field))!
  return Number(/(\d+)/.exec(line)![1]) / 1024
}

/** Waits until the process has used under 3% of a core for half a second: the indexer has caught up. */
async function quiet (pid: number): Promise<number> {
  const started = performance.now()
  let previous = cpuSeconds(pid)
  for (let i = 0; i < 1200; i++) {
    await sleep(500)
    const now = cpuSeconds(pid)
    if (now - previous <= 0.015) break
    previous = now
  }
  return (performance.now() - started) / 1000 - 0.5
}

async function json (url: string): Promise<any> {
  const response = await fetch(url)
  if (!response.ok) throw new Error(`${url}: ${response.status}`)
  return response.json()
}

async function createdCount (url: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text()
  return Number(/^webhook_requests_total\{result="created"\} (\d+)/m.exec(text)?.[1] ?? 0)
}

interface Timing {
  p50: number
  p99: number
  first: number
  runs: number
  /** Stopped by the time budget before `runs` were done: `runs` says how many were. */
  budgetSpent?: true
  total?: number
  shed?: number
  /** The same requests as the service measured them: latency_ms of their access-log lines. */
  server?: { p50: number, p99: number }
}

/** A query stops repeating after this long: a slow build reports the runs it managed instead of taking forever. */
const READ_BUDGET_MS = 20_000

/**
 * Client-side latency of one GET, repeated; `first` is the very first (cold) request. A 503 from load
 * shedding (after a run of slow queries) is counted, waited out and not timed. Stops after `budgetMs`
 * with the runs done (at least one).
 */
async function time (url: string, runs: number, tag: string, budgetMs = Infinity): Promise<Timing> {
  const samples: number[] = []
  let total: number | undefined
  let shed = 0
  const deadline = performance.now() + budgetMs
  while (samples.length < runs && (samples.length === 0 || performance.now() < deadline)) {
    const started = performance.now()
    // A request id per query, so its access-log lines can be found afterwards.
    const response = await fetch(url, { headers: { 'x-request-id': `${tag}-${samples.length}-${shed}` } })
    const body = await response.json() as { total?: number }
    const elapsed = performance.now() - started
    if (response.status === 503 && shed < 10) {
      shed++
      await sleep(1500)
      continue
    }
    if (!response.ok) throw new Error(`${url}: ${response.status}`)
    samples.push(elapsed)
    total = body.total
  }
  const first = samples[0]!
  samples.sort((a, b) => a - b)
  return { p50: percentile(samples, 0.5), p99: percentile(samples, 0.99), first, runs: samples.length, ...(samples.length < runs ? { budgetSpent: true } : {}), ...(total === undefined ? {} : { total }), ...(shed === 0 ? {} : { shed }) }
}

function nextLink (header: string | null): string {
  const m = /<([^>]+)>; rel="next"/.exec(header ?? '')
  if (m === null) throw new Error('no Link next header')
  return m[1]!
}

/** The `ts` of the seeded middle row: a `since` that keeps half the seeded rows (and every ingested one). */
async function middleTs (url: string): Promise<string> {
  return (await json(`${url}/messages?limit=1&offset=${Math.floor(ROWS / 2)}`)).data[0].ts as string
}

async function readLatencies (url: string, serviceLog: string, since: string): Promise<Record<string, Timing>> {
  const deep = ROWS - 50
  const afterFirst = nextLink((await fetch(`${url}/messages`)).headers.get('link'))
  const afterDeep = nextLink((await fetch(`${url}/messages?limit=50&offset=${deep - 50}`)).headers.get('link'))
  const few = Math.max(5, Math.floor(RUNS / 20))
  const queries: Array<[string, string, number]> = [
    ['first page', '/messages', RUNS],
    ['?from= (biggest sender)', `/messages?from=${encodeURIComponent(sender(0))}`, RUNS],
    ['?from= (median sender)', `/messages?from=${encodeURIComponent(sender(700))}`, RUNS],
    ['?since= (middle)', `/messages?since=${since}`, RUNS],
    ['?from=&since=', `/messages?from=${encodeURIComponent(sender(0))}&since=${since}`, RUNS],
    ['after= cursor at row 50', afterFirst, RUNS],
    [`after= cursor at row ${deep}`, afterDeep, RUNS],
    [`?offset=${deep}`, `/messages?offset=${deep}`, few],
    [`?q=${RARE_WORD} (rare)`, `/messages?q=${RARE_WORD}`, RUNS],
    ['?q=ORDER (common)', '/messages?q=ORDER', RUNS],
    ['?q=payment (common)', '/messages?q=payment', RUNS],
    ['?q=GRÜSSE (non-ASCII fold)', `/messages?q=${encodeURIComponent('GRÜSSE')}`, RUNS],
    ['?q=e (1 char, common)', '/messages?q=e', RUNS],
    ['?q=東 (1 char, rarer)', `/messages?q=${encodeURIComponent('東')}`, RUNS],
    ['?q=zy (2 chars, rare)', '/messages?q=zy', RUNS],
    ['?q=the&since= (common word + since)', `/messages?q=the&since=${since}`, RUNS],
    ['?q=order&offset=5000', '/messages?q=order&offset=5000', few],
    ['/stats', '/stats', RUNS]
  ]
  const results: Record<string, Timing> = {}
  for (const [index, [name, path, runs]] of queries.entries()) {
    results[name] = await time(url + path, runs, `bench-read-${index}`, READ_BUDGET_MS)
    log(`${name}: p50 ${results[name]!.p50.toFixed(2)} ms, p99 ${results[name]!.p99.toFixed(2)} ms, first ${results[name]!.first.toFixed(2)} ms`)
  }
  // Server-side: each request's latency_ms from its access-log line. The line is written in onResponse,
  // after the reply left, so the last one may land just after the client has its answer: wait a moment.
  await sleep(500)
  const serverTimes = new Map<string, number[]>()
  for (const line of readFileSync(serviceLog, 'utf8').split('\n')) {
    const id = /"request_id":"(bench-read-\d+)-/.exec(line)?.[1]
    if (id === undefined || !line.includes('"status":200')) continue
    const times = serverTimes.get(id) ?? []
    times.push((JSON.parse(line) as { latency_ms: number }).latency_ms)
    serverTimes.set(id, times)
  }
  for (const [index, [name]] of queries.entries()) {
    const times = serverTimes.get(`bench-read-${index}`)?.sort((a, b) => a - b)
    if (times !== undefined) results[name]!.server = { p50: percentile(times, 0.5), p99: percentile(times, 0.99) }
  }
  return results
}

interface LoadSummary { tool: string, rps: number, p50: number, p99: number, ok: number, non2xx: number, errors: number, sent: number, prepared: number, ids: string, startedAt: number, endedAt: number }

async function load (url: string, tool: string, prefix: string, seconds = SECONDS, extra: string[] = []): Promise<LoadSummary> {
  const out = await run(pinned(LOAD_CORE, [process.execPath, '--import', 'tsx', 'bench/load.ts', '--url', url, '--tool', tool,
    '--seconds', String(seconds), '--prefix', prefix, '--secret', SECRET, '--ids', IDS, ...extra]))
  return JSON.parse(out) as LoadSummary
}

interface DuringSearches {
  load: LoadSummary
  /** Searches answered (200) during the round, and their client-side median. */
  searches: number
  searchP50: number
  non200: number
}

/**
 * An autocannon round while a dashboard keeps running the slowest read there is, one after another: a
 * common word with `since`, whose exact total tests every row since that instant (on the scan thread,
 * src/store/sqlite/scanner.ts). Compare with the plain autocannon rounds: what deliveries suffer from it.
 */
async function ingestDuringSearches (url: string, since: string): Promise<DuringSearches> {
  const search = `${url}/messages?q=the&since=${since}`
  const state = { searching: true }
  let non200 = 0
  const times: number[] = []
  const searcher = (async () => {
    while (state.searching) {
      const started = performance.now()
      const response = await fetch(search)
      await response.arrayBuffer()
      if (response.ok) times.push(performance.now() - started)
      else {
        non200++
        await sleep(100)
      }
    }
  })()
  const result = await load(url, 'autocannon', 'search-')
  state.searching = false
  await searcher
  times.sort((a, b) => a - b)
  return { load: result, searches: times.length, searchP50: times.length === 0 ? Number.NaN : percentile(times, 0.5), non200 }
}

/**
 * --breakdown: service configurations that each leave one cost of a delivery out, and one memory knob. The in-memory
 * database keeps the same SQL, group commit and indexer, without a file, a WAL or an fsync. The last row
 * is not the service: bench/floor.ts, the least any server must do per durable delivery on this stack.
 */
const BREAKDOWN: ReadonlyArray<{ name: string, env: Record<string, string>, floor?: true }> = [
  { name: 'default (as in the rounds above)', env: {} },
  { name: 'no access-log line (LOG_LEVEL=warn)', env: { LOG_LEVEL: 'warn' } },
  { name: 'empty in-memory database (DATABASE_URL=sqlite::memory:)', env: { DATABASE_URL: 'sqlite::memory:' } },
  { name: 'empty in-memory database and no access-log line', env: { DATABASE_URL: 'sqlite::memory:', LOG_LEVEL: 'warn' } },
  // Not a cost left out: the memory knob README → Performance offers operators, priced in CPU and RSS.
  { name: 'young generation capped (NODE_OPTIONS=--max-semi-space-size=8)', env: { NODE_OPTIONS: '--max-semi-space-size=8' } },
  { name: 'durable floor (bench/floor.ts): signature, JSON.parse, the store\'s save with no read models, nothing else', env: {}, floor: true }
]

/** A service round beside a baseline round: both load results, and the CPU each server used. */
interface Pair {
  service: LoadSummary
  baseline: LoadSummary
  serviceCpuSeconds: number
  baselineCpuSeconds: number
}

/** The baseline's CPU per request over the service's (plus `extraServiceCpu`): the ratio were the server's core the only limit. */
const cpuRatio = (p: Pair, extraServiceCpu = 0) =>
  (p.baselineCpuSeconds / p.baseline.sent) / ((p.serviceCpuSeconds + extraServiceCpu) / p.service.sent)

/** One load round against one server, and the CPU that server used meanwhile. */
async function measuredLoad (target: Server, tool: string, prefix: string): Promise<{ result: LoadSummary, cpu: number }> {
  const cpuStart = cpuSeconds(target.pid)
  const result = await load(target.url, tool, prefix)
  return { result, cpu: cpuSeconds(target.pid) - cpuStart }
}

/** The service's round and the baseline's, in the order `serviceFirst` says: alternated, drift in the machine's speed favours neither. */
async function inTurn<S, B> (serviceFirst: boolean, service: () => Promise<S>, baseline: () => Promise<B>): Promise<[S, B]> {
  if (serviceFirst) {
    const first = await service()
    return [first, await baseline()]
  }
  const first = await baseline()
  return [await service(), first]
}

interface BreakdownRow extends Pair {
  name: string
  tool: string
  /** The process's peak RSS (VmHWM) after both of its rounds. */
  peakRssMb: number
}

/**
 * Runs one configuration: a fresh process on the grown file, a warm-up, then an autocannon round and a
 * wrk round, each beside a baseline round (the order alternates, as in the rounds).
 */
async function breakdownRows (name: string, command: string[], env: Record<string, string>, logFile: string, baseline: Server, index: number): Promise<BreakdownRow[]> {
  const server = await startServer(command, env, logFile, '/health/ready')
  try {
    // Its own id prefix: the rounds' prefixes below (`x<index>a-`, `x<index>w-`) must send only new ids.
    await load(server.url, 'wrk', `x${index}warm-`, 2)
    await quiet(server.pid)
    const rounds: Array<Pair & { tool: string }> = []
    for (const [t, tool] of TOOLS.entries()) {
      const [measured, base] = await inTurn((index + t) % 2 === 0,
        () => measuredLoad(server, tool, `x${index}${tool[0]}-`), () => measuredLoad(baseline, tool, `xb${index}${tool[0]}-`))
      await quiet(server.pid)
      log(`breakdown ${name}, ${tool}: ${measured.result.rps.toFixed(0)} req/s, baseline ${base.result.rps.toFixed(0)} req/s`)
      rounds.push({ tool, service: measured.result, baseline: base.result, serviceCpuSeconds: measured.cpu, baselineCpuSeconds: base.cpu })
    }
    const peakRssMb = rssMb(server.pid, 'VmHWM')
    return rounds.map((round) => ({ name, ...round, peakRssMb }))
  } finally {
    await stop(server)
  }
}

interface Round extends Pair {
  tool: string
  ratio: number
  rowsAdded: number
  created: number
  catchUpSeconds: number
  catchUpCpuSeconds: number
  peakRssMb: number
}

/** The seeded file, seeding it first when no earlier run left it. */
async function seedFile (): Promise<string> {
  const file = join(OUT, `seed-${ROWS}.db`)
  if (!existsSync(file)) {
    log(`seeding ${ROWS} rows into ${file}`)
    log(await run(pinned(SERVER_CORE, [process.execPath, '--import', 'tsx', 'bench/seed.ts', '--rows', String(ROWS), '--db', file])))
  }
  return file
}

/** SQLite's copy of the seeded rows for this run. */
async function sqliteDatabase (dir: string): Promise<string> {
  const dbFile = join(dir, 'app.db')
  copyFileSync(await seedFile(), dbFile)
  return dbFile
}

/** The SQLite engine's ingest in a --engine postgres run: one round per tool on its own seeded copy. */
interface EngineRound { tool: string, load: LoadSummary }

async function main (): Promise<void> {
  mkdirSync(OUT, { recursive: true })
  const dir = join(OUT, 'run')
  rmSync(dir, { recursive: true, force: true })
  mkdirSync(dir, { recursive: true })
  let cluster: Cluster | null = null
  let databaseUrl: string
  if (ENGINE === 'postgres') {
    const started = startCluster(OUT, values['postgres-url'])
    cluster = started
    process.on('exit', () => { if (cluster !== null) started.stop() })
    databaseUrl = await runDatabase(cluster, ROWS, async (url) => {
      log(`seeding ${ROWS} rows into PostgreSQL`)
      log(await run([process.execPath, '--import', 'tsx', 'bench/seed-postgres.ts', '--rows', String(ROWS), '--url', url]))
    })
  } else {
    databaseUrl = `sqlite:///${await sqliteDatabase(dir)}`
  }
  const serviceLog = join(dir, 'service.log')
  const serviceEnv = {
    WEBHOOK_SECRET: SECRET,
    DATABASE_URL: databaseUrl,
    HOST: '127.0.0.1',
    PORT: String(PORT),
    LOG_LEVEL: 'info'
  }
  // The production build (npm start runs dist/); tsx only when the build fails.
  let built = true
  try {
    await buildServer(join(ROOT, 'dist'))
  } catch {
    built = false
    log('build failed: running the service through tsx')
  }
  const serviceCommand = pinned(SERVER_CORE, built
    ? [process.execPath, 'dist/server.js']
    : [process.execPath, '--import', 'tsx', 'src/server.ts'])
  runner = built ? 'node dist/server.js' : 'tsx src/server.ts'
  if (values.lifecycle) {
    // Export, retention and backup (bench/lifecycle.ts) instead of the ingest rounds.
    const report = await lifecycleBench({
      rows: ROWS, seconds: SECONDS, dir, dbFile: join(dir, 'app.db'), serviceCommand, serviceEnv, serviceLog, log, startServer, stop, load, rssMb, quiet, json
    })
    const when = new Date().toISOString()
    writeFileSync(join(OUT, `lifecycle-${when.replace(/[:.]/g, '-')}.json`), JSON.stringify({ when, machine: machine(), runner, ...report }, null, 2))
    return
  }
  if (values.floors) {
    const rounds = await floorsBench({
      rows: ROWS,
      rounds: ROUNDS,
      tools: TOOLS,
      dir,
      seedFile: await seedFile(),
      port: PORT,
      serviceCommand,
      serviceEnv,
      serviceLog,
      benchCommand: (script) => pinned(SERVER_CORE, [process.execPath, '--import', 'tsx', script]),
      log,
      startServer,
      stop,
      load,
      measuredLoad,
      cpuSeconds,
      quiet,
      json,
      createdCount
    })
    const when = new Date().toISOString()
    writeFileSync(join(OUT, `floors-${when.replace(/[:.]/g, '-')}.json`), JSON.stringify({ when, machine: machine(), runner, rows: ROWS, seconds: SECONDS, ids: IDS, rounds }, null, 2))
    process.stdout.write(floorsTable(rounds, `hookvault bench --floors: ${ROWS} seeded rows, ${IDS} ids, ${ROUNDS} round(s) × ${SECONDS} s per tool and server, ` +
      `50 connections; ${machine()}; service ${runner}`) + '\n')
    return
  }
  if (values.burst) {
    const count = Number(values['burst-count'])
    const report = await burstBench({
      rows: ROWS,
      count,
      afterRuns: Number(values['burst-reads']),
      dir,
      seedFile: await seedFile(),
      serviceCommand,
      serviceEnv,
      serviceLog,
      readerCommand: pinned(LOAD_CORE, [process.execPath, '--import', 'tsx', 'bench/reader.ts']),
      log,
      startServer,
      stop,
      burst: (url, prefix, amount) => load(url, 'autocannon', prefix, SECONDS, ['--amount', String(amount)]),
      cpuSeconds,
      quiet,
      json,
      createdCount
    })
    const when = new Date().toISOString()
    writeFileSync(join(OUT, `burst-${when.replace(/[:.]/g, '-')}.json`), JSON.stringify({ when, machine: machine(), runner, rows: ROWS, ids: IDS, ...report }, null, 2))
    process.stdout.write(burstTable(report, `hookvault bench --burst: ${ROWS} seeded rows, ${count} deliveries (${IDS} ids, autocannon, 50 connections) ` +
      `while a reader on the load core reads; ${machine()}; service ${runner}`) + '\n')
    return
  }
  let service = await startServer(serviceCommand, serviceEnv, serviceLog, '/health/ready')
  log(`service ready in ${service.readyMs.toFixed(0)} ms on ${ROWS} rows`)
  const baseline = await startServer(pinned(SERVER_CORE, [process.execPath, '--import', 'tsx', 'bench/baseline.ts']), { PORT: String(PORT + 1) }, null, '/webhook')

  log('read latencies')
  const since = await middleTs(service.url)
  const reads = values['skip-reads'] ? {} : await readLatencies(service.url, serviceLog, since)
  const rssAfterReads = rssMb(service.pid)

  log('warm-up')
  await load(service.url, 'autocannon', 'warm-', 2)
  await load(baseline.url, 'autocannon', 'warm-', 2)
  await quiet(service.pid)

  const rounds: Round[] = []
  for (let r = 0; r < ROUNDS; r++) {
    for (const tool of TOOLS) {
      const before = { rows: (await json(`${service.url}/stats`)).total_messages as number, created: await createdCount(service.url) }
      let peakRssMb = 0
      const sampler = setInterval(() => { peakRssMb = Math.max(peakRssMb, rssMb(service.pid)) }, 200)
      // The service's indexer catches up right after its round, before the baseline runs on the same core.
      const serviceRound = async () => {
        const measured = await measuredLoad(service, tool, `r${r}${tool[0]}-`)
        const cpuAtEnd = cpuSeconds(service.pid)
        const catchUpSeconds = await quiet(service.pid)
        return { ...measured, catchUpSeconds, catchUpCpu: cpuSeconds(service.pid) - cpuAtEnd }
      }
      const [measured, base] = await inTurn(r % 2 === 0, serviceRound, () => measuredLoad(baseline, tool, `b${r}-`))
      const baselineResult = base.result
      clearInterval(sampler)
      const serviceResult = measured.result
      const after = { rows: (await json(`${service.url}/stats`)).total_messages as number, created: await createdCount(service.url) }
      const catchUpSeconds = measured.catchUpSeconds
      const round: Round = {
        tool,
        service: serviceResult,
        baseline: baselineResult,
        ratio: serviceResult.rps / baselineResult.rps,
        rowsAdded: after.rows - before.rows,
        created: after.created - before.created,
        catchUpSeconds,
        catchUpCpuSeconds: measured.catchUpCpu,
        serviceCpuSeconds: measured.cpu,
        baselineCpuSeconds: base.cpu,
        peakRssMb
      }
      rounds.push(round)
      log(`round ${r + 1} ${tool}: service ${serviceResult.rps.toFixed(0)} req/s (p99 ${serviceResult.p99} ms), baseline ` +
        `${baselineResult.rps.toFixed(0)} req/s, ratio ${round.ratio.toFixed(3)}, rows +${round.rowsAdded}, 2xx ${serviceResult.ok}, ` +
        `created ${round.created}, non-2xx ${serviceResult.non2xx}, catch-up ${catchUpSeconds.toFixed(1)} s`)
    }
  }
  log('ingest while a dashboard searches')
  const duringSearches = await ingestDuringSearches(service.url, since)
  await quiet(service.pid)
  const peakRss = rssMb(service.pid, 'VmHWM')
  const finalRows = (await json(`${service.url}/stats`)).total_messages as number
  await stop(service)

  const breakdown: BreakdownRow[] = []
  if (values.breakdown) {
    log('breakdown')
    // The floor writes to its own copy of the grown file: its rows are never indexed, and the restarts
    // below must not find them as a backlog.
    const floorFile = join(dir, 'floor.db')
    copyFileSync(join(dir, 'app.db'), floorFile) // --breakdown runs on SQLite only (checked at the top)
    const floor = { command: pinned(SERVER_CORE, [process.execPath, '--import', 'tsx', 'bench/floor.ts']), env: { DATABASE_URL: `sqlite:///${floorFile}` } }
    for (const [index, config] of BREAKDOWN.entries()) {
      const [command, env] = config.floor ? [floor.command, floor.env] : [serviceCommand, config.env]
      breakdown.push(...await breakdownRows(config.name, command, { ...serviceEnv, ...env }, join(dir, 'breakdown.log'), baseline, index))
    }
  }
  await stop(baseline)

  const sqliteRounds: EngineRound[] = []
  if (ENGINE === 'postgres') {
    log('the SQLite engine, same run')
    const sqlite = await startServer(serviceCommand, { ...serviceEnv, PORT: String(PORT + 2), DATABASE_URL: `sqlite:///${await sqliteDatabase(dir)}` }, join(dir, 'sqlite.log'), '/health/ready')
    await load(sqlite.url, 'autocannon', 'sqlite-warm-', 2)
    await quiet(sqlite.pid)
    for (const tool of TOOLS) {
      sqliteRounds.push({ tool, load: await load(sqlite.url, tool, `sqlite-${tool[0]}-`) })
      await quiet(sqlite.pid)
      log(`SQLite ${tool}: ${sqliteRounds.at(-1)!.load.rps.toFixed(0)} req/s`)
    }
    await stop(sqlite)
  }

  log('start → ready on the grown file')
  const restarts: number[] = []
  for (let i = 0; i < (quick ? 1 : 3); i++) {
    service = await startServer(serviceCommand, serviceEnv, serviceLog, '/health/ready')
    restarts.push(service.readyMs)
    await stop(service)
  }

  cluster?.stop()
  cluster = null

  const report = { when: new Date().toISOString(), machine: machine(), engine: ENGINE, ids: IDS, rows: ROWS, seconds: SECONDS, rounds, sqliteRounds, duringSearches, breakdown, reads, rssAfterReads, peakRss, finalRows, restarts }
  writeFileSync(join(OUT, `bench-${report.when.replace(/[:.]/g, '-')}.json`), JSON.stringify(report, null, 2))
  process.stdout.write(table(report) + '\n')
}

function machine (): string {
  const cpu = cpus()[0]?.model ?? 'unknown CPU'
  return `${cpu}, ${availableParallelism()} cores, Node ${process.version}${PINNED ? ', server on core 0, load on core 1' : ', unpinned (one core)'}`
}

const cpuPerRequest = (seconds: number, summary: LoadSummary) => (seconds * 1e6 / summary.sent).toFixed(1)

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!

function table (report: { engine: string, rounds: Round[], sqliteRounds: EngineRound[], duringSearches: DuringSearches, breakdown: BreakdownRow[], reads: Record<string, Timing>, peakRss: number, rssAfterReads: number, finalRows: number, restarts: number[], machine: string }): string {
  const lines: string[] = []
  const row = (...cells: string[]) => lines.push(`| ${cells.join(' | ')} |`)
  lines.push(`hookvault bench (${report.engine} engine): ${ROWS} seeded rows, ${IDS} ids, ${ROUNDS} round(s) × ${SECONDS} s per tool, 50 connections; ${report.machine}`, '')
  row('ingest', 'service req/s', 'p50 / p99 ms', 'baseline req/s', 'ratio', 'CPU µs/req service / baseline', 'non-2xx',
    'rows added = 200s for new ids', 'client 2xx', 'catch-up s (CPU s)')
  row('---', '---:', '---:', '---:', '---:', '---:', '---:', '---', '---:', '---:')
  for (const r of report.rounds) {
    // The server counts every 200 it sent; the client stops counting at the deadline, with up to one
    // request per connection still in flight, so its 2xx may trail by at most the connection count.
    const consistent = r.rowsAdded === r.created && r.created - r.service.ok >= 0 && r.created - r.service.ok <= 50 ? 'yes' : 'NO'
    row(r.tool, r.service.rps.toFixed(0), `${r.service.p50} / ${r.service.p99}`, r.baseline.rps.toFixed(0), r.ratio.toFixed(3),
      `${cpuPerRequest(r.serviceCpuSeconds, r.service)} / ${cpuPerRequest(r.baselineCpuSeconds, r.baseline)}`,
      String(r.service.non2xx + r.service.errors), `${consistent} (${r.rowsAdded} = ${r.created})`, String(r.service.ok),
      `${r.catchUpSeconds.toFixed(1)} (${r.catchUpCpuSeconds.toFixed(1)})`)
  }
  lines.push('')
  for (const tool of ['autocannon', 'wrk']) {
    const rounds = report.rounds.filter((r) => r.tool === tool)
    if (rounds.length === 0) continue
    // By CPU per request, and the same with the indexing each round left behind (the sustained rate).
    const byCpu = median(rounds.map((r) => cpuRatio(r)))
    const sustained = median(rounds.map((r) => cpuRatio(r, r.catchUpCpuSeconds)))
    lines.push(`${tool}: median ratio ${median(rounds.map((r) => r.ratio)).toFixed(3)}; by CPU per request ${byCpu.toFixed(3)}, ` +
      `including the deferred indexing ${sustained.toFixed(3)}`)
  }
  for (const { tool, load: r } of report.sqliteRounds) {
    const pg = report.rounds.filter((round) => round.tool === tool).map((round) => round.service.rps)
    lines.push(`${tool}, same run: PostgreSQL engine median ${pg.length === 0 ? 'n/a' : median(pg).toFixed(0)} req/s; SQLite engine ` +
      `${r.rps.toFixed(0)} req/s (p50 / p99 ${r.p50} / ${r.p99} ms, non-2xx ${r.non2xx + r.errors})`)
  }
  const { load: busy, searches, searchP50, non200 } = report.duringSearches
  lines.push('', `ingest while a dashboard repeats ?q=the&since= (autocannon, ${SECONDS} s): ${busy.rps.toFixed(0)} req/s, ` +
    `p50 / p99 ${busy.p50} / ${busy.p99} ms, non-2xx ${busy.non2xx + busy.errors}; ${searches} searches answered ` +
    `(client p50 ${searchP50.toFixed(0)} ms)${non200 === 0 ? '' : `, ${non200} not 200`}`)
  if (report.breakdown.length > 0) {
    lines.push('', `where the CPU per delivery goes (--breakdown): per configuration one round of ${SECONDS} s per tool, each beside a baseline round:`, '')
    row('service configuration', 'tool', 'req/s', 'p50 / p99 ms', 'baseline req/s', 'ratio', 'CPU µs/req service / baseline', 'ratio by CPU', 'non-2xx', 'peak RSS MB')
    row('---', '---', '---:', '---:', '---:', '---:', '---:', '---:', '---:', '---:')
    for (const b of report.breakdown) {
      row(b.name, b.tool, b.service.rps.toFixed(0), `${b.service.p50} / ${b.service.p99}`, b.baseline.rps.toFixed(0), (b.service.rps / b.baseline.rps).toFixed(3),
        `${cpuPerRequest(b.serviceCpuSeconds, b.service)} / ${cpuPerRequest(b.baselineCpuSeconds, b.baseline)}`, cpuRatio(b).toFixed(3),
        String(b.service.non2xx + b.service.errors), b.peakRssMb.toFixed(0))
    }
  }
  lines.push('', `reads at ${ROWS} rows, ms: client-side (fetch over keep-alive, load generator idle) and server-side (latency_ms of the same requests' log lines):`, '')
  row('query', 'client p50', 'client p99', 'server p50', 'server p99', 'first (client)', 'runs', 'total')
  row('---', '---:', '---:', '---:', '---:', '---:', '---:', '---:')
  for (const [name, t] of Object.entries(report.reads)) {
    row(name, t.p50.toFixed(2), t.p99.toFixed(2), t.server?.p50.toFixed(2) ?? '', t.server?.p99.toFixed(2) ?? '', t.first.toFixed(2),
      String(t.runs) + (t.budgetSpent === undefined ? '' : ` (stopped at ${READ_BUDGET_MS / 1000} s)`) + (t.shed === undefined ? '' : ` (${t.shed} shed)`), t.total === undefined ? '' : String(t.total))
  }
  lines.push('', `RSS: ${report.rssAfterReads.toFixed(0)} MB after the reads, peak ${report.peakRss.toFixed(0)} MB (VmHWM) under load; ` +
    `max sampled during rounds ${Math.max(...report.rounds.map((r) => r.peakRssMb)).toFixed(0)} MB`)
  lines.push(`start → ready on ${report.finalRows} rows: ${report.restarts.map((ms) => ms.toFixed(0)).join(', ')} ms (spawn to first 200 from /health/ready, ${runner})`)
  return lines.join('\n')
}

await main()

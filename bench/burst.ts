/**
 * `npm run bench -- --burst [--burst-count 100000]`: reads while a burst of deliveries lands, right after
 * it (while the deferred indexer catches up), and at rest, instead of the default rounds.
 *
 * The service starts on a fresh copy of the seeded file. A reader (bench/reader.ts, its own process on
 * the load generator's core, never the server's) requests round-robin the first page, ?from= (the biggest
 * sender), ?since= (the middle ts), /stats and, for information, ?q=the&since= (after a pause of a second or
 * four times its last duration: a scan, which could otherwise take most of the reader's time). After a couple of seconds
 * of reads, the load generator sends --burst-count deliveries with unique ids as fast as they are
 * answered (autocannon, 50 connections). Reads are split by when they were issued:
 *
 * - before: before the burst's first delivery;
 * - during: between its first delivery and its last answer;
 * - right after: the first --burst-reads of each shape issued after the last answer, as soon as it came
 *   (of the informational shape, those issued meanwhile);
 * - at rest: as many again, once the service's CPU has gone quiet (the indexer has caught up).
 *
 * Client latency as the reader saw it, and server latency from the same requests' access-log lines.
 * The catch-up time runs from the burst's last answer to the moment the service's CPU went quiet; the
 * reader pauses after its "right after" reads so that its requests are not taken for indexing, so the
 * catch-up cannot be measured shorter than that phase (both are reported).
 */
import { spawn } from 'node:child_process'
import { copyFileSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { sender } from './data.ts'
import { percentile } from './percentile.ts'
import type { Sample } from './reader.ts'

interface Server { child: import('node:child_process').ChildProcess, url: string, pid: number }
interface LoadSummary { tool: string, rps: number, p50: number, p99: number, ok: number, non2xx: number, errors: number, sent: number, startedAt: number, endedAt: number }

/** What run.ts lends. */
export interface BurstTools {
  rows: number
  count: number
  /** Requests per shape right after the burst, and again at rest. */
  afterRuns: number
  dir: string
  seedFile: string
  serviceCommand: string[]
  serviceEnv: Record<string, string>
  serviceLog: string
  /** `node … bench/reader.ts`, pinned to the load generator's core. */
  readerCommand: string[]
  log: (line: string) => void
  startServer: (command: string[], env: Record<string, string>, logFile: string | null, readyPath: string) => Promise<Server & { readyMs: number }>
  stop: (server: Server) => Promise<void>
  /** Exactly `amount` deliveries, autocannon, as fast as they are answered. */
  burst: (url: string, prefix: string, amount: number) => Promise<LoadSummary>
  cpuSeconds: (pid: number) => number
  quiet: (pid: number) => Promise<number>
  json: (url: string) => Promise<any>
  createdCount: (url: string) => Promise<number>
}

export const PHASES = ['before', 'during', 'right after', 'at rest'] as const
type Phase = typeof PHASES[number]

export interface PhaseTiming { runs: number, non200: number, client?: { p50: number, p99: number }, server?: { p50: number, p99: number, matched: number } }

export interface BurstReport {
  count: number
  load: LoadSummary
  rowsAdded: number
  created: number
  /** From the burst's last answer to the reader's pause, and to the service's CPU going quiet. */
  afterPhaseSeconds: number
  catchUpSeconds: number
  /** Service CPU from the end of the burst until quiet (the "right after" reads included). */
  catchUpCpuSeconds: number
  shapes: Array<{ name: string, path: string, phases: Record<Phase, PhaseTiming> }>
  /** Every read, with its phase and the server's latency_ms when its log line was found: for checking the summary. */
  samples: Array<Sample & { phase: Phase | null, serverMs: number | null }>
}

const epochMs = () => performance.timeOrigin + performance.now()
/** Longest the reader may take for its reads right after the burst, or at rest (--burst-reads per shape). */
const READER_PHASE_MS = 300_000

/** The reader's stdout, line by line, as parsed JSON. */
function lines (child: import('node:child_process').ChildProcess): () => Promise<any> {
  const queue: any[] = []
  const waiting: Array<(value: any) => void> = []
  let closed = false
  const reader = createInterface({ input: child.stdout! })
  reader.on('line', (line) => {
    let value: any
    try {
      value = JSON.parse(line)
    } catch {
      value = { unparsed: line.slice(0, 200) }
    }
    const next = waiting.shift()
    if (next === undefined) queue.push(value)
    else next(value)
  })
  reader.on('close', () => {
    closed = true
    for (const next of waiting.splice(0)) next(null)
  })
  return () => queue.length > 0 ? Promise.resolve(queue.shift()) : closed ? Promise.resolve(null) : new Promise((resolve) => waiting.push(resolve))
}

/** The reader's next line, or an error after `ms`: a reader that never pauses must not hold the run forever. */
async function within (next: () => Promise<any>, ms: number, what: string): Promise<any> {
  let timer: NodeJS.Timeout | undefined
  const deadline = new Promise((_resolve, reject) => { timer = setTimeout(() => reject(new Error(`the reader: no ${what} within ${ms / 1000} s`)), ms) })
  try {
    return await Promise.race([next(), deadline])
  } finally {
    clearTimeout(timer)
  }
}

function timing (clientMs: number[], serverMs: number[], runs: number, non200: number): PhaseTiming {
  const sorted = (xs: number[]) => [...xs].sort((a, b) => a - b)
  const c = sorted(clientMs)
  const s = sorted(serverMs)
  return {
    runs,
    non200,
    ...(c.length === 0 ? {} : { client: { p50: percentile(c, 0.5), p99: percentile(c, 0.99) } }),
    ...(s.length === 0 ? {} : { server: { p50: percentile(s, 0.5), p99: percentile(s, 0.99), matched: s.length } })
  }
}

export async function burstBench (t: BurstTools): Promise<BurstReport> {
  const dbFile = join(t.dir, 'burst.db')
  copyFileSync(t.seedFile, dbFile)
  const service = await t.startServer(t.serviceCommand, { ...t.serviceEnv, DATABASE_URL: `sqlite:///${dbFile}` }, t.serviceLog, '/health/ready')
  let reader: import('node:child_process').ChildProcess | null = null
  try {
    const since = (await t.json(`${service.url}/messages?limit=1&offset=${Math.floor(t.rows / 2)}`)).data[0].ts as string
    const shapes: Array<[string, string]> = [
      ['first page', '/messages'],
      ['?from= (biggest sender)', `/messages?from=${encodeURIComponent(sender(0))}`],
      ['?since= (middle)', `/messages?since=${since}`],
      ['/stats', '/stats']
    ]
    const infoShapes: Array<[string, string]> = [['?q=the&since= (for information, spaced out)', `/messages?q=the&since=${since}`]]
    const before = { rows: (await t.json(`${service.url}/stats`)).total_messages as number, created: await t.createdCount(service.url) }

    reader = spawn(t.readerCommand[0]!, [...t.readerCommand.slice(1), '--url', service.url, '--after-runs', String(t.afterRuns),
      ...shapes.flatMap(([, path]) => ['--path', path]), ...infoShapes.flatMap(([, path]) => ['--info-path', path])], { stdio: ['pipe', 'pipe', 'inherit'] })
    const next = lines(reader)
    if ((await within(next, 60_000, 'start'))?.ready !== true) throw new Error('the reader did not start')
    await new Promise((resolve) => setTimeout(resolve, 2000))

    t.log(`burst of ${t.count} deliveries`)
    const load = await t.burst(service.url, 'burst-', t.count)
    const cpuAtEnd = t.cpuSeconds(service.pid)
    reader.stdin!.write(`after ${load.endedAt}\n`)
    const paused = await within(next, READER_PHASE_MS, 'pause after its reads right after the burst')
    if (typeof paused?.paused !== 'number') throw new Error('the reader stopped before its reads right after the burst')
    await t.quiet(service.pid)
    // quiet() returns half a second after the CPU went quiet.
    const quietAt = epochMs() - 500
    const catchUpCpuSeconds = t.cpuSeconds(service.pid) - cpuAtEnd
    const after = { rows: (await t.json(`${service.url}/stats`)).total_messages as number, created: await t.createdCount(service.url) }
    const restFrom = epochMs()
    reader.stdin!.write('rest\n')
    const done = await within(next, READER_PHASE_MS, 'samples after its reads at rest')
    if (!Array.isArray(done?.samples)) throw new Error('the reader gave no samples')
    const samples = done.samples as Sample[]

    // The access-log lines of the reader's requests: the last may land just after its answer.
    await new Promise((resolve) => setTimeout(resolve, 500))
    const serverMs = new Map<string, number>()
    for (const line of readFileSync(t.serviceLog, 'utf8').split('\n')) {
      const id = /"request_id":"(burst-\d+-\d+)"/.exec(line)?.[1]
      if (id !== undefined && line.includes('"latency_ms"')) serverMs.set(id, (JSON.parse(line) as { latency_ms: number }).latency_ms)
    }

    const phaseOf = (s: Sample, afterIndex: number): Phase | null => {
      if (s.start >= restFrom) return 'at rest'
      // The informational shapes are not counted to a number: all of theirs issued before the reader paused.
      if (s.start >= load.endedAt) return afterIndex < t.afterRuns || s.shape >= shapes.length ? 'right after' : null
      return s.start >= load.startedAt ? 'during' : 'before'
    }
    const phased: BurstReport['samples'] = []
    const report: BurstReport['shapes'] = [...shapes, ...infoShapes].map(([name, path], index) => {
      const mine = samples.filter((s) => s.shape === index).sort((a, b) => a.start - b.start)
      let afterIndex = 0
      const grouped = new Map<Phase, Sample[]>(PHASES.map((p) => [p, []]))
      for (const s of mine) {
        const phase = phaseOf(s, afterIndex)
        if (s.start >= load.endedAt && s.start < restFrom) afterIndex++
        if (phase !== null) grouped.get(phase)!.push(s)
        phased.push({ ...s, phase, serverMs: serverMs.get(s.id) ?? null })
      }
      const phases = Object.fromEntries(PHASES.map((phase) => {
        const ok = grouped.get(phase)!.filter((s) => s.status === 200)
        return [phase, timing(ok.map((s) => s.end - s.start), ok.flatMap((s) => serverMs.has(s.id) ? [serverMs.get(s.id)!] : []),
          grouped.get(phase)!.length, grouped.get(phase)!.length - ok.length)]
      })) as Record<Phase, PhaseTiming>
      return { name, path, phases }
    })
    return {
      count: t.count,
      load,
      rowsAdded: after.rows - before.rows,
      created: after.created - before.created,
      afterPhaseSeconds: (paused.paused - load.endedAt) / 1000,
      catchUpSeconds: (quietAt - load.endedAt) / 1000,
      catchUpCpuSeconds,
      shapes: report,
      samples: phased
    }
  } finally {
    if (reader !== null && reader.exitCode === null) reader.kill('SIGKILL')
    await t.stop(service)
  }
}

export function burstTable (r: BurstReport, heading: string): string {
  const lines: string[] = [heading, '']
  const ok = r.rowsAdded === r.created && r.created === r.count && r.load.ok === r.count ? 'yes' : 'NO'
  lines.push(`burst: ${r.count} deliveries in ${((r.load.endedAt - r.load.startedAt) / 1000).toFixed(1)} s, ${r.load.rps.toFixed(0)} req/s, ` +
    `p50 / p99 ${r.load.p50} / ${r.load.p99} ms, non-2xx ${r.load.non2xx + r.load.errors}; rows added = created = 2xx = sent: ${ok} ` +
    `(${r.rowsAdded} = ${r.created} = ${r.load.ok} = ${r.count})`)
  lines.push(`indexer catch-up: CPU quiet ${r.catchUpSeconds.toFixed(1)} s after the burst's last answer (service CPU meanwhile ` +
    `${r.catchUpCpuSeconds.toFixed(1)} s, the "right after" reads included); the reader paused after its "right after" reads, ` +
    `${r.afterPhaseSeconds.toFixed(1)} s after the burst, and the catch-up is not measured shorter than that: when the two are close, ` +
    'the indexer may have finished sooner', '')
  // latency_ms is reply.elapsedTime at onResponse, after the reply left: when the loop is busy then, it can exceed what the client waited.
  const matched = r.samples.filter((s) => s.serverMs !== null)
  const above = matched.filter((s) => s.serverMs! > s.end - s.start).length
  lines.splice(lines.length - 1, 0, `server latency (access-log latency_ms, found for ${matched.length} of ${r.samples.length} reads) exceeds the ` +
    `client's for ${above}: it is taken in onResponse, which can run well after the client has the reply (the event loop busy with other work)`)
  const row = (...cells: string[]) => lines.push(`| ${cells.join(' | ')} |`)
  row('query', 'phase', 'runs', 'client p50', 'client p99', 'server p50', 'server p99', 'non-200')
  row('---', '---', '---:', '---:', '---:', '---:', '---:', '---:')
  const ms = (x: number | undefined) => x === undefined ? '' : x.toFixed(2)
  for (const shape of r.shapes) {
    for (const phase of PHASES) {
      const p = shape.phases[phase]
      row(shape.name, phase, String(p.runs), ms(p.client?.p50), ms(p.client?.p99), ms(p.server?.p50), ms(p.server?.p99), String(p.non200))
    }
  }
  return lines.join('\n')
}

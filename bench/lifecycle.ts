/**
 * `npm run bench -- --lifecycle`: export, retention and backup at --rows seeded rows,
 * instead of the ingest rounds. On a fresh copy of the seeded file, with the service pinned as in run.ts:
 *
 * 1. ingest alone (autocannon): the p99 to compare with;
 * 2. a full NDJSON export to a fast client: rows/s, and the server's RSS growth while it streams;
 * 3. ingest while full exports run back to back: p99 against (1);
 * 4. a restart with RETENTION_DAYS set so the sweep at start deletes about half the seeded rows, with
 *    ingest meanwhile: p99 against (1), the sweep's duration, then every read checked against an export
 *    (totals, since, search, senders, top 10, first/last) and the file's size and free pages;
 * 5. `npm run backup` while ingest runs: no delivery refused, no 5xx, the copy's row count and integrity.
 */
import { spawn } from 'node:child_process'
import { existsSync, readFileSync, rmSync, statSync } from 'node:fs'
import { join } from 'node:path'
import Database from 'better-sqlite3'

interface Server { child: import('node:child_process').ChildProcess, url: string, pid: number }
interface LoadSummary { tool: string, rps: number, p50: number, p99: number, ok: number, non2xx: number, errors: number, sent: number }

/** What run.ts lends: its way of starting, loading and watching the service. */
export interface BenchTools {
  rows: number
  seconds: number
  dir: string
  dbFile: string
  serviceCommand: string[]
  serviceEnv: Record<string, string>
  serviceLog: string
  log: (line: string) => void
  startServer: (command: string[], env: Record<string, string>, logFile: string | null, readyPath: string) => Promise<Server & { readyMs: number }>
  stop: (server: Server) => Promise<void>
  load: (url: string, tool: string, prefix: string, seconds?: number) => Promise<LoadSummary>
  rssMb: (pid: number) => number
  quiet: (pid: number) => Promise<number>
  json: (url: string) => Promise<any>
}

const DAY_MS = 86_400_000
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

interface ExportRun { rows: number, bytes: number, seconds: number, rowsPerSecond: number, rssGrowthMb: number }

/** One full export read as fast as the socket allows; the server's RSS sampled every 100 ms meanwhile. */
async function fullExport (t: BenchTools, server: Server, query = ''): Promise<ExportRun & { lines: string[] | null }> {
  const rssBefore = t.rssMb(server.pid)
  let rssMax = rssBefore
  const sampler = setInterval(() => { rssMax = Math.max(rssMax, t.rssMb(server.pid)) }, 100)
  const started = performance.now()
  const response = await fetch(`${server.url}/messages/export${query}`)
  if (!response.ok || response.body === null) throw new Error(`export: ${response.status}`)
  let rows = 0
  let bytes = 0
  for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
    bytes += chunk.length
    for (const byte of chunk) if (byte === 10) rows++
  }
  const seconds = (performance.now() - started) / 1000
  clearInterval(sampler)
  return { rows, bytes, seconds, rowsPerSecond: rows / seconds, rssGrowthMb: rssMax - rssBefore, lines: null }
}

/** Every exported item (for the exactness checks): parsed NDJSON. */
async function exportedItems (url: string, query = ''): Promise<Array<{ message_id: string, from: string, ts: string }>> {
  const text = await (await fetch(`${url}/messages/export${query}`)).text()
  return text.split('\n').filter((line) => line !== '').map((line) => JSON.parse(line))
}

async function deletedCount (url: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text()
  return Number(/^messages_deleted_total\{reason="retention"\} (\d+)/m.exec(text)?.[1] ?? 0)
}

async function createdCount (url: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text()
  return Number(/^webhook_requests_total\{result="created"\} (\d+)/m.exec(text)?.[1] ?? 0)
}

function fileFacts (dbFile: string) {
  const db = new Database(dbFile, { readonly: true, fileMustExist: true })
  try {
    const pageSize = db.pragma('page_size', { simple: true }) as number
    return {
      fileMb: statSync(dbFile).size / 1e6,
      walMb: existsSync(`${dbFile}-wal`) ? statSync(`${dbFile}-wal`).size / 1e6 : 0,
      freeMb: (db.pragma('freelist_count', { simple: true }) as number) * pageSize / 1e6
    }
  } finally {
    db.close()
  }
}

function runBackup (env: Record<string, string>, file: string): Promise<{ code: number | null, stdout: string, stderr: string, seconds: number }> {
  const started = performance.now()
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'scripts/backup.ts', file], { env: { ...process.env, ...env } })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (chunk) => { stdout += chunk })
    child.stderr.on('data', (chunk) => { stderr += chunk })
    child.on('exit', (code) => resolve({ code, stdout, stderr, seconds: (performance.now() - started) / 1000 }))
  })
}

export async function lifecycleBench (t: BenchTools): Promise<Record<string, unknown>> {
  const report: Record<string, unknown> = { rows: t.rows, seconds: t.seconds }
  let service = await t.startServer(t.serviceCommand, t.serviceEnv, t.serviceLog, '/health/ready')
  t.log(`service ready in ${service.readyMs.toFixed(0)} ms on ${t.rows} rows`)
  await t.load(service.url, 'autocannon', 'lw-', 2)
  await t.quiet(service.pid)

  t.log('ingest alone')
  const alone = await t.load(service.url, 'autocannon', 'la-')
  await t.quiet(service.pid)
  report.ingestAlone = alone

  t.log('full exports to a fast client')
  const exports: ExportRun[] = []
  for (let i = 0; i < 2; i++) {
    const { lines: _, ...run } = await fullExport(t, service)
    exports.push(run)
    t.log(`export ${i + 1}: ${run.rows} rows in ${run.seconds.toFixed(1)} s = ${run.rowsPerSecond.toFixed(0)} rows/s, ` +
      `${(run.bytes / 1e6).toFixed(0)} MB, RSS growth ${run.rssGrowthMb.toFixed(1)} MB`)
  }
  report.exports = exports

  t.log('ingest while full exports run back to back')
  const state = { exporting: true }
  const during: ExportRun[] = []
  const exporter = (async () => {
    while (state.exporting) during.push(await fullExport(t, service))
  })()
  const withExport = await t.load(service.url, 'autocannon', 'le-')
  state.exporting = false
  await exporter
  await t.quiet(service.pid)
  report.ingestDuringExport = { load: withExport, exports: during.map(({ rows, seconds }) => ({ rows, seconds })) }
  t.log(`ingest p99 alone ${alone.p99} ms, during exports ${withExport.p99} ms (${(withExport.p99 / alone.p99).toFixed(2)}x); ` +
    `${during.length} exports overlapped`)

  // Retention that deletes the seeded rows before the middle one, whole days: about half of them.
  const total = (await t.json(`${service.url}/stats`)).total_messages as number
  const middle = (await t.json(`${service.url}/messages?limit=1&offset=${Math.floor(t.rows / 2)}`)).data[0].ts as string
  const days = Math.ceil((Date.now() - Date.parse(middle)) / DAY_MS)
  await t.stop(service)
  const beforeSweep = fileFacts(t.dbFile)

  t.log(`retention: RETENTION_DAYS=${days}, sweep at start, with ingest`)
  // The sweep logs one line when it is done: looked for from here on.
  const logStart = readFileSync(t.serviceLog, 'utf8').length
  service = await t.startServer(t.serviceCommand, { ...t.serviceEnv, RETENTION_DAYS: String(days) }, t.serviceLog, '/health/ready')
  const sweepStartedAt = Date.now()
  // An earlier cutoff than the sweep's own (its clock read later): nothing before it may remain.
  const cutoff = new Date(Date.now() - days * DAY_MS).toISOString()
  const sweepIngest = await t.load(service.url, 'autocannon', 'lr-')
  let sweepSeconds = Number.NaN
  for (let i = 0; i < 1800; i++) {
    const line = readFileSync(t.serviceLog, 'utf8').slice(logStart).split('\n').find((l) => l.includes('"retention sweep"'))
    if (line !== undefined) {
      sweepSeconds = (Date.parse(JSON.parse(line).ts) - sweepStartedAt) / 1000
      break
    }
    await sleep(1000)
  }
  await t.quiet(service.pid)
  const deleted = await deletedCount(service.url)
  const created = await createdCount(service.url)
  t.log(`sweep: ${deleted} deleted in ${sweepSeconds.toFixed(1)} s; ingest p99 ${sweepIngest.p99} ms during it ` +
    `(${(sweepIngest.p99 / alone.p99).toFixed(2)}x alone)`)

  // Every read against an export of what is left.
  const stats = await t.json(`${service.url}/stats`)
  const items = await exportedItems(service.url)
  const counts = new Map<string, number>()
  for (const item of items) counts.set(item.from, (counts.get(item.from) ?? 0) + 1)
  const top = [...counts].map(([from, count]) => ({ from, count }))
    .sort((a, b) => b.count - a.count || (a.from < b.from ? -1 : a.from > b.from ? 1 : 0)).slice(0, 10)
  const theTotal = (await t.json(`${service.url}/messages?limit=1&q=the`)).total as number
  const theExported = (await exportedItems(service.url, '?q=the')).length
  const checks = {
    'rows before + created − deleted = /stats total': total + created - deleted === stats.total_messages,
    '/stats total = export rows': stats.total_messages === items.length,
    '/messages total = export rows': (await t.json(`${service.url}/messages?limit=1`)).total === items.length,
    'nothing before the cutoff (since=cutoff total = all)': (await t.json(`${service.url}/messages?limit=1&since=${cutoff}`)).total === items.length,
    'senders_count = distinct senders exported': stats.senders_count === counts.size,
    'top 10 = recomputed from the export': JSON.stringify(stats.messages_per_sender) === JSON.stringify(top),
    'first/last = export edges': stats.first_message_ts === items[0]?.ts && stats.last_message_ts === items.at(-1)?.ts,
    '?q=the total = its export rows': theTotal === theExported
  }
  t.log(`reads exact after the sweep: ${Object.values(checks).every(Boolean) ? 'all' : 'NOT ALL'} (${JSON.stringify(checks)})`)

  // Freed pages are reused: another ingest round should not grow the file while free pages remain.
  const afterSweep = fileFacts(t.dbFile)
  const refill = await t.load(service.url, 'autocannon', 'lf-')
  await t.quiet(service.pid)
  const afterRefill = fileFacts(t.dbFile)
  report.retention = {
    days,
    cutoff,
    deleted,
    sweepSeconds,
    ingest: sweepIngest,
    checks,
    file: { beforeSweep, afterSweep, afterRefill, refillRows: refill.ok }
  }
  t.log(`file MB (main / free pages): before ${beforeSweep.fileMb.toFixed(0)} / ${beforeSweep.freeMb.toFixed(0)}, ` +
    `after the sweep ${afterSweep.fileMb.toFixed(0)} / ${afterSweep.freeMb.toFixed(0)}, after ${refill.ok} more rows ` +
    `${afterRefill.fileMb.toFixed(0)} / ${afterRefill.freeMb.toFixed(0)}`)

  t.log('backup under ingest')
  const copy = join(t.dir, 'backup.db')
  rmSync(copy, { force: true })
  const backupLoad = t.load(service.url, 'autocannon', 'lb-', t.seconds * 2)
  await sleep(t.seconds * 500) // the load generator prepares its requests first: start the backup mid-run
  const backup = await runBackup({ DATABASE_URL: t.serviceEnv.DATABASE_URL! }, copy)
  const backupIngest = await backupLoad
  report.backup = { ...backup, result: backup.code === 0 ? JSON.parse(backup.stdout) : null, ingest: backupIngest }
  t.log(`backup: exit ${backup.code} in ${backup.seconds.toFixed(1)} s ${backup.stdout.trim()}${backup.stderr.trim()}; ingest meanwhile ` +
    `${backupIngest.ok} 2xx, ${backupIngest.non2xx} non-2xx, ${backupIngest.errors} errors, p99 ${backupIngest.p99} ms`)
  await t.stop(service)
  return report
}

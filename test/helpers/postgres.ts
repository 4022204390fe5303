import { execFile, execFileSync } from 'node:child_process'
import { chownSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { TestContext } from 'node:test'
import { promisify } from 'node:util'
import pg from 'pg'
import { freePort } from './server-process.ts'

// A throwaway PostgreSQL cluster for the tests: initdb into a temporary folder, trust auth on loopback and
// on a unix socket in that folder, a free port; stopped and removed at the end. test/helpers/with-postgres.ts
// starts one for a whole run and exports its URL as TEST_POSTGRES_URL; the crash tests start their own, since
// stopping the shared one would fail every other file running meanwhile.

const run = promisify(execFile)

/** Where initdb, pg_ctl and postgres live: PG_BIN, else the newest /usr/lib/postgresql/<v>/bin, else PATH. */
export function postgresBinDir (): string | null {
  const candidates: string[] = []
  if (process.env.PG_BIN !== undefined && process.env.PG_BIN !== '') candidates.push(process.env.PG_BIN)
  const debian = '/usr/lib/postgresql'
  if (existsSync(debian)) {
    const versions = readdirSync(debian).filter((v) => /^\d+$/.test(v)).sort((a, b) => Number(b) - Number(a))
    candidates.push(...versions.map((v) => join(debian, v, 'bin')))
  }
  candidates.push(...(process.env.PATH ?? '').split(':').filter((p) => p !== ''))
  return candidates.find((dir) => existsSync(join(dir, 'initdb')) && existsSync(join(dir, 'pg_ctl'))) ?? null
}

/**
 * initdb and postgres refuse to run as root: as root, run them as the `postgres` OS user (Debian's
 * package creates it), which then has to own the cluster's folder.
 */
function asClusterOwner (command: string, args: string[]): [string, string[]] {
  return process.getuid?.() === 0 ? ['runuser', ['-u', 'postgres', '--', command, ...args]] : [command, args]
}

function postgresIds (): { uid: number, gid: number } {
  const uid = Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).trim())
  const gid = Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).trim())
  return { uid, gid }
}

export interface Cluster {
  /** Superuser URL of the `postgres` database, over TCP on loopback. */
  url: string
  port: number
  /** The folder holding the unix socket (`?host=<socketDir>` in a URL). */
  socketDir: string
  /** pg_ctl stop: `immediate` is a crash (no checkpoint, recovery at the next start). */
  stop (mode?: 'fast' | 'immediate'): Promise<void>
  /** pg_ctl start again on the same port, after a stop. */
  start (): Promise<void>
  /** Stops (immediate) if running and deletes the folder. Synchronous, so it also works in an exit handler. */
  remove (): void
  /** The server's log so far, for failure messages. */
  log (): string
}

export interface ClusterOptions {
  /** Extra `-c name=value` server settings. */
  settings?: Record<string, string>
}

/**
 * A new cluster, running. The default collation is ICU en-US, as on most real servers, not C: an engine
 * that forgets `COLLATE "C"` where the contract wants byte order shows it here.
 */
export async function startCluster (options: ClusterOptions = {}): Promise<Cluster> {
  const bin = postgresBinDir()
  if (bin === null) throw new Error('no PostgreSQL binaries (initdb, pg_ctl): install postgresql or set PG_BIN')
  const root = mkdtempSync(join(tmpdir(), 'hookvault-pg-'))
  if (process.getuid?.() === 0) {
    const { uid, gid } = postgresIds()
    chownSync(root, uid, gid)
  }
  const data = join(root, 'data')
  const logFile = join(root, 'server.log')
  const port = await freePort()
  const initdb = asClusterOwner(join(bin, 'initdb'), ['-D', data, '-U', 'postgres', '-A', 'trust', '--no-sync', '-E', 'UTF8',
    '--locale=C.UTF-8', '--locale-provider=icu', '--icu-locale=en-US'])
  await run(initdb[0], initdb[1])
  const settings: Record<string, string> = {
    listen_addresses: '127.0.0.1',
    port: String(port),
    unix_socket_directories: root,
    // Durability against an OS crash is PostgreSQL's business, not what these tests check: a process
    // crash (pg_ctl stop -m immediate, kill -9) keeps what reached the kernel, fsync or not.
    fsync: 'off',
    full_page_writes: 'off',
    max_connections: '300',
    shared_buffers: '32MB',
    ...options.settings
  }
  const serverOptions = Object.entries(settings).map(([name, value]) => `-c ${name}=${value}`).join(' ')
  const pgCtl = (args: string[]) => {
    const [command, all] = asClusterOwner(join(bin, 'pg_ctl'), ['-D', data, ...args])
    return run(command, all)
  }
  const start = async () => { await pgCtl(['-l', logFile, '-w', '-t', '60', '-o', serverOptions, 'start']) }
  let running = false
  const cluster: Cluster = {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    port,
    socketDir: root,
    async stop (mode = 'fast') {
      await pgCtl(['-m', mode, '-w', 'stop'])
      running = false
    },
    async start () {
      await start()
      running = true
    },
    remove () {
      if (running) {
        const [command, all] = asClusterOwner(join(bin, 'pg_ctl'), ['-D', data, '-m', 'immediate', '-w', 'stop'])
        try { execFileSync(command, all, { stdio: 'ignore' }) } catch {}
        running = false
      }
      rmSync(root, { recursive: true, force: true })
    },
    log () {
      try { return readFileSync(logFile, 'utf8') } catch { return '' }
    }
  }
  try {
    await cluster.start()
  } catch (error) {
    const log = cluster.log()
    cluster.remove()
    throw new Error(`PostgreSQL did not start: ${(error as Error).message}\n${log}`)
  }
  return cluster
}

/** The shared server's URL (an admin connection to any database), when the run has one. */
export function sharedServerUrl (): string | null {
  const url = process.env.TEST_POSTGRES_URL
  return url === undefined || url === '' ? null : url
}

/** The same server, another database. */
export function withDatabase (serverUrl: string, name: string): string {
  const url = new URL(serverUrl)
  url.pathname = `/${name}`
  return url.toString()
}

let counter = 0

/** A database name unique to this process and call, safe unquoted. */
function freshName (): string {
  counter += 1
  return `hookvault_t${process.pid}_${counter}_${Math.floor(Math.random() * 1e6)}`
}

/** Runs statements on one short-lived connection (CREATE/DROP DATABASE cannot share a transaction). */
export async function adminQuery<T extends pg.QueryResultRow = pg.QueryResultRow> (serverUrl: string, sql: string, values?: unknown[]): Promise<T[]> {
  const client = new pg.Client({ connectionString: serverUrl })
  // A server that goes away (a test crashing it) fails the query; without a listener the client's
  // 'error' event would be an uncaught exception on top.
  client.on('error', () => {})
  await client.connect()
  try {
    return (await client.query<T>(sql, values)).rows
  } finally {
    await client.end()
  }
}

/**
 * Drops a test's database once nothing uses it any more. The test's after hooks run in the order they
 * were registered, so this one (registered when the database was made) usually runs before the hook
 * that closes the app or kills the server using it: dropping at once, or forcibly, would cut a live
 * app's connections. So it runs in the background, retrying a plain DROP until the users are gone,
 * and forces it only after 15 s. The test file's process stays up until it is done.
 */
async function dropWhenUnused (serverUrl: string, name: string): Promise<void> {
  for (const end = Date.now() + 15_000; Date.now() < end;) {
    try {
      await adminQuery(serverUrl, `DROP DATABASE IF EXISTS ${name}`)
      return
    } catch (error) {
      if ((error as { code?: string }).code !== '55006') return // 55006: object_in_use; anything else: give up quietly
    }
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
  await adminQuery(serverUrl, `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`).catch(() => {})
}

const pendingDrops = new Set<Promise<void>>()

/** Resolves once every database drop started so far is done: before stopping the server they are on. */
export async function dropsSettled (): Promise<void> {
  await Promise.all([...pendingDrops])
}

/** A new, empty database on `serverUrl` (the shared one unless given), dropped once the test is over. */
export async function freshDatabase (t: TestContext, serverUrl = sharedServerUrl()): Promise<string> {
  if (serverUrl === null) throw new Error('no PostgreSQL server: run through test/helpers/with-postgres.ts or set TEST_POSTGRES_URL')
  const name = freshName()
  await adminQuery(serverUrl, `CREATE DATABASE ${name} TEMPLATE template0`)
  t.after(() => {
    const drop = dropWhenUnused(serverUrl, name).catch(() => {})
    pendingDrops.add(drop)
    drop.finally(() => pendingDrops.delete(drop)).catch(() => {})
  })
  return withDatabase(serverUrl, name)
}

/**
 * Why tests that need PostgreSQL cannot run here, or null when they can (`needsBinaries`: they start and
 * crash their own cluster, a URL alone is not enough). Under CI=true a missing server is a failure, not a
 * skip: CI must prove both engines.
 */
export function postgresMissing (needsBinaries = false): string | null {
  const reason = needsBinaries
    ? (postgresBinDir() === null ? 'no PostgreSQL binaries (initdb, pg_ctl; install postgresql or set PG_BIN)' : null)
    : (sharedServerUrl() === null && postgresBinDir() === null ? 'no PostgreSQL server (TEST_POSTGRES_URL unset, no initdb)' : null)
  if (reason === null) return null
  if (process.env.CI === 'true') throw new Error(`CI=true and ${reason}: the PostgreSQL tests cannot be skipped in CI`)
  process.stderr.write(`\n!!! SKIPPED: PostgreSQL tests: ${reason} !!!\n\n`)
  return `SKIPPED: ${reason}`
}

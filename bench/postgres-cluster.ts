/**
 * The PostgreSQL side of `npm run bench -- --engine postgres`: a throwaway cluster under
 * bench-results/pg-cluster (initdb on first use, started with pg_ctl, stopped at the end), or the
 * server --postgres-url names; a seeded database per row count, kept between runs; and a fresh copy of
 * it for each run (CREATE DATABASE … TEMPLATE: a file copy, seconds instead of a re-seed).
 */
import { spawnSync } from 'node:child_process'
import { chownSync, existsSync, mkdirSync } from 'node:fs'
import { join } from 'node:path'
import pg from 'pg'

/** Where PostgreSQL's programs are (Debian's layout), unless PG_BIN says. */
const PG_BIN = process.env.PG_BIN ?? '/usr/lib/postgresql/15/bin'
const PORT = 55439

export interface Cluster {
  /** URL of database `name` on the cluster. */
  url: (name: string) => string
  stop: () => void
}

/** initdb and postgres refuse to run as root: as root, they run as the `postgres` user. */
function pgCommand (program: string, args: string[]): void {
  const command = process.getuid?.() === 0 ? ['runuser', '-u', 'postgres', '--', join(PG_BIN, program), ...args] : [join(PG_BIN, program), ...args]
  const result = spawnSync(command[0]!, command.slice(1), { stdio: ['ignore', 'ignore', 'inherit'] })
  if (result.status !== 0) throw new Error(`${command.join(' ')} exited ${result.status}`)
}

export function startCluster (out: string, given: string | undefined): Cluster {
  if (given !== undefined) {
    return {
      url: (name) => {
        const url = new URL(given)
        url.pathname = `/${name}`
        return url.toString()
      },
      stop: () => {}
    }
  }
  const dir = join(out, 'pg-cluster')
  const data = join(dir, 'data')
  if (!existsSync(data)) {
    mkdirSync(dir, { recursive: true })
    if (process.getuid?.() === 0) {
      const { uid, gid } = postgresUser()
      chownSync(dir, uid, gid)
    }
    pgCommand('initdb', ['-D', data, '--auth=trust', '-U', 'postgres', '--encoding=UTF8', '--locale=C.UTF-8'])
  }
  // Defaults but for the socket directory and port: the figures are PostgreSQL as installed, on the
  // same two cores as the service and the load generator.
  pgCommand('pg_ctl', ['-D', data, '-w', '-l', join(dir, 'log'), '-o', `-p ${PORT} -k ${dir} -c listen_addresses=127.0.0.1`, 'start'])
  return {
    url: (name) => `postgres://postgres@127.0.0.1:${PORT}/${name}`,
    stop: () => pgCommand('pg_ctl', ['-D', data, '-w', '-m', 'fast', 'stop'])
  }
}

function postgresUser (): { uid: number, gid: number } {
  const id = (flag: string) => Number(spawnSync('id', [flag, 'postgres'], { encoding: 'utf8' }).stdout.trim())
  return { uid: id('-u'), gid: id('-g') }
}

async function admin<T> (cluster: Cluster, run: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: cluster.url('postgres') })
  await client.connect()
  try {
    return await run(client)
  } finally {
    await client.end()
  }
}

/**
 * The database this run measures: a copy of `hookvault_seed_<rows>`, seeded first by `seed` when
 * absent. Returns its URL.
 */
export async function runDatabase (cluster: Cluster, rows: number, seed: (url: string) => Promise<void>): Promise<string> {
  const seeded = `hookvault_seed_${rows}`
  const exists = await admin(cluster, async (client) => (await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [seeded])).rowCount === 1)
  if (!exists) {
    // Seeded under a temporary name and renamed when complete, so an interrupted seed is not reused.
    await admin(cluster, async (client) => {
      await client.query(`DROP DATABASE IF EXISTS ${seeded}_partial`)
      await client.query(`CREATE DATABASE ${seeded}_partial`)
    })
    await seed(cluster.url(`${seeded}_partial`))
    await admin(cluster, (client) => client.query(`ALTER DATABASE ${seeded}_partial RENAME TO ${seeded}`))
  }
  await admin(cluster, async (client) => {
    await client.query('DROP DATABASE IF EXISTS hookvault_bench_run WITH (FORCE)')
    await client.query(`CREATE DATABASE hookvault_bench_run TEMPLATE ${seeded}`)
  })
  return cluster.url('hookvault_bench_run')
}

import { spawn } from 'node:child_process'
import { postgresBinDir, sharedServerUrl, startCluster, type Cluster } from './postgres.ts'

// Runs a command (the test runner) with TEST_ENGINE=postgres and TEST_POSTGRES_URL pointing at one
// PostgreSQL server for the whole run: the given TEST_POSTGRES_URL, else a throwaway cluster started here
// and removed afterwards. One cluster per run, not per test file: initdb and start cost ~4 s each time.
//
//   node --import tsx test/helpers/with-postgres.ts <command> [args…]
//
// With neither a URL nor the binaries, it says so loudly and exits 0 (a skip), except under CI=true,
// where it exits 1: CI must prove both engines.

const [command, ...args] = process.argv.slice(2)
if (command === undefined) {
  process.stderr.write('usage: with-postgres.ts <command> [args…]\n')
  process.exit(2)
}

let cluster: Cluster | null = null
let url = sharedServerUrl()
if (url === null) {
  if (postgresBinDir() === null) {
    const banner = '!'.repeat(78)
    process.stderr.write(`\n${banner}\n!!! PostgreSQL tests SKIPPED: no TEST_POSTGRES_URL and no PostgreSQL binaries (initdb, pg_ctl).\n` +
      `!!! Install postgresql (Debian: apt-get install postgresql) or set TEST_POSTGRES_URL=postgres://…\n${banner}\n\n`)
    process.exit(process.env.CI === 'true' ? 1 : 0)
  }
  const started = Date.now()
  cluster = await startCluster()
  url = cluster.url
  process.stderr.write(`with-postgres: throwaway cluster on port ${cluster.port} ready in ${Date.now() - started} ms\n`)
}

const removeCluster = () => { cluster?.remove(); cluster = null }
process.on('exit', removeCluster)

const child = spawn(command, args, {
  stdio: 'inherit',
  env: { ...process.env, TEST_ENGINE: 'postgres', TEST_POSTGRES_URL: url }
})
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => { child.kill(signal) })
}
child.on('exit', (code, signal) => {
  if (code !== 0 && cluster !== null) process.stderr.write(`with-postgres: PostgreSQL log tail:\n${cluster.log().split('\n').slice(-40).join('\n')}\n`)
  removeCluster()
  process.exit(code ?? (signal === null ? 1 : 128))
})

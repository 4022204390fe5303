import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import { after, before, test, type TestContext } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'
import { fileURLToPath } from 'node:url'
import pg from 'pg'
import { buildServer } from '../../scripts/build.ts'
import { SECRET } from '../helper.ts'
import { call, delivery, post, storedIds, type LiveResponse } from '../helpers/live-client.ts'
import { adminQuery, dropsSettled, freshDatabase, postgresMissing, startCluster, type Cluster } from '../helpers/postgres.ts'
import { startServer, type ServerProcess } from '../helpers/server-process.ts'

// Several real server processes (the production bundle, as `npm start` runs it) on one PostgreSQL
// database, and that database crashing under them (CONTRACT §12). The file starts its own throwaway
// cluster rather than using the run's shared one, because it stops and crashes it; its tests run one
// after another, each on a fresh database.

const ROOT = fileURLToPath(new URL('../..', import.meta.url))
const missing = postgresMissing(true) // throws under CI=true
const options = { timeout: 180_000, ...(missing === null ? {} : { skip: missing }) }

let cluster: Cluster | null = null
let bundle = ''

before(async () => {
  if (missing !== null) return
  bundle = mkdtempSync(join(ROOT, '.build-test-'))
  await buildServer(bundle)
  cluster = await startCluster()
})

after(async () => {
  await dropsSettled()
  cluster?.remove()
  if (bundle !== '') rmSync(bundle, { recursive: true, force: true })
})

function theCluster (): Cluster {
  assert.ok(cluster !== null, 'cluster started in before()')
  return cluster
}

/** A fresh database on this file's cluster. */
async function database (t: TestContext): Promise<string> {
  return freshDatabase(t, theCluster().url)
}

/** A replica: the production bundle on a free port, stopped after the test. */
async function replica (t: TestContext, url: string, env: Record<string, string> = {}): Promise<ServerProcess> {
  const server = await startServer({ WEBHOOK_SECRET: SECRET, DATABASE_URL: url, LOG_LEVEL: 'warn', ...env }, { args: [join(bundle, 'server.js')] })
  t.after(() => server.kill())
  return server
}

const running = (server: ServerProcess) => server.child.exitCode === null && server.child.signalCode === null

/** Polls `probe` every 50 ms until it holds; returns the time it took, or fails after `ms`. */
async function within (ms: number, what: string, probe: () => Promise<boolean>): Promise<number> {
  const started = Date.now()
  while (Date.now() - started < ms) {
    if (await probe().catch(() => false)) return Date.now() - started
    await sleep(50)
  }
  assert.fail(`${what}: not within ${ms} ms`)
}

/** Every message_id in the database, read with SQL (not through the service). */
async function sqlIds (url: string): Promise<Set<string>> {
  const rows = await adminQuery<{ message_id: string }>(url, 'SELECT message_id FROM messages')
  return new Set(rows.map((row) => row.message_id))
}

/** The sum of one series over several replicas' /metrics. */
async function counter (servers: ServerProcess[], series: string): Promise<number> {
  let sum = 0
  for (const server of servers) {
    const text = await (await fetch(`${server.url}/metrics`)).text()
    const line = text.split('\n').find((l) => l.startsWith(`${series} `))
    sum += line === undefined ? 0 : Number(line.slice(series.length + 1))
  }
  return sum
}

interface Load {
  /** Ids answered 200 {"status":"ok"}: each is a promise that the message is stored. */
  acknowledged: Set<string>
  /** Answers by status, for the replica they came from. */
  statuses: Map<string, number>
  /** Answers that were neither 200 nor 503 with Retry-After ≥ 1. */
  wrong: string[]
  stop (): Promise<void>
}

/** Workers delivering new ids round-robin over the replicas until stopped; no answer means no promise. */
function load (servers: ServerProcess[], prefix: string, workers = 8): Load {
  const state: Load = { acknowledged: new Set(), statuses: new Map(), wrong: [], stop: async () => {} }
  const control = { stopping: false }
  async function worker (w: number): Promise<void> {
    for (let i = 0; !control.stopping; i++) {
      const server = servers[(w + i) % servers.length]!
      const id = `${prefix}-${w}-${i}`
      let answer: LiveResponse
      try {
        answer = await post(server.url, delivery(id, `load ${i}`))
      } catch {
        await sleep(20) // refused or reset: the replica is gone, nothing was promised
        continue
      }
      const key = `${server.port}:${answer.status}`
      state.statuses.set(key, (state.statuses.get(key) ?? 0) + 1)
      if (answer.status === 200 && answer.body?.status === 'ok') state.acknowledged.add(id)
      else if (answer.status === 503 && Number(answer.headers.get('retry-after')) >= 1) await sleep(20)
      else state.wrong.push(`${answer.status} ${JSON.stringify(answer.body)} retry-after=${answer.headers.get('retry-after')}`)
    }
  }
  const all = Array.from({ length: workers }, (_, w) => worker(w))
  state.stop = async () => { control.stopping = true; await Promise.all(all) }
  return state
}

async function untilAcknowledged (traffic: Load, count: number): Promise<void> {
  await within(60_000, `${count} acknowledged deliveries`, async () => traffic.acknowledged.size >= count)
}

/** Every acknowledged id is stored: through each replica's API and with SQL. */
async function assertNothingLost (url: string, acknowledged: Set<string>, through: ServerProcess[]): Promise<void> {
  const inSql = await sqlIds(url)
  const lostSql = [...acknowledged].filter((id) => !inSql.has(id))
  assert.deepEqual(lostSql, [], `${lostSql.length} of ${acknowledged.size} acknowledged ids missing in the table`)
  for (const server of through) {
    const seen = new Set(await storedIds(server.url))
    const lostApi = [...acknowledged].filter((id) => !seen.has(id))
    assert.deepEqual(lostApi, [], `${lostApi.length} of ${acknowledged.size} acknowledged ids missing from ${server.url}/messages`)
  }
}

test('the same new message_id delivered to two replicas at once: one row, every answer 200', options, async (t) => {
  const url = await database(t)
  const servers = [await replica(t, url), await replica(t, url)]
  const ids = Array.from({ length: 40 }, (_, i) => `race-${i}`)
  const COPIES = 6
  const answers = await Promise.all(ids.flatMap((id) => Array.from({ length: COPIES }, (_, c) =>
    post(servers[c % 2]!.url, delivery(id, `copy ${c}`)))))
  assert.deepEqual(answers.filter((a) => a.status !== 200 || a.body?.status !== 'ok').map((a) => [a.status, a.body]), [])

  const rows = await adminQuery<{ message_id: string, n: number }>(url, 'SELECT message_id, count(*)::int AS n FROM messages GROUP BY message_id')
  assert.equal(rows.length, ids.length)
  assert.deepEqual(rows.filter((r) => r.n !== 1), [])
  // One delivery per id was the first write; every other one saw a duplicate, whichever replica it hit.
  assert.equal(await counter(servers, 'webhook_requests_total{result="created"}'), ids.length)
  assert.equal(await counter(servers, 'webhook_requests_total{result="duplicate"}'), ids.length * (COPIES - 1))
  // Both replicas return the stored (first) text, the same one.
  const pages = await Promise.all(servers.map(async (s) => (await call(`${s.url}/messages?limit=100`)).body))
  assert.equal(pages[0].total, ids.length)
  assert.deepEqual(pages[0], pages[1])
})

test('a message acknowledged by one replica is at once in the other one\'s /messages and /stats', options, async (t) => {
  const url = await database(t)
  // The second replica reaches the same database through the unix socket (libpq's ?host=<directory> form).
  const { port, socketDir } = theCluster()
  const overSocket = `postgres://postgres@/${new URL(url).pathname.slice(1)}?host=${encodeURIComponent(socketDir)}&port=${port}`
  const [a, b] = [await replica(t, url), await replica(t, overSocket)]
  for (let i = 0; i < 30; i++) {
    const [writer, reader] = i % 2 === 0 ? [a, b] : [b, a]
    const from = `+1555000${String(i).padStart(4, '0')}`
    const body = JSON.stringify({ message_id: `seen-${i}`, from, to: '+14155550100', ts: '2025-01-15T10:00:00Z', text: `visible ${i}` })
    assert.equal((await post(writer.url, body)).status, 200)
    const page = await call(`${reader.url}/messages?from=${encodeURIComponent(from)}`)
    assert.deepEqual(page.body.data.map((m: { message_id: string }) => m.message_id), [`seen-${i}`], `read through the other replica after ack ${i}`)
    const stats = await call(`${reader.url}/stats`)
    assert.equal(stats.body.total_messages, i + 1)
    assert.equal(stats.body.senders_count, i + 1)
    const search = await call(`${reader.url}/messages?q=${encodeURIComponent(`VISIBLE ${i}`)}`)
    assert.ok(search.body.data.some((m: { message_id: string }) => m.message_id === `seen-${i}`))
  }
})

test('the database crashes under load (pg_ctl stop -m immediate): 503 + Retry-After meanwhile, readiness names database, liveness 200, recovery within 5 s, nothing acknowledged lost', options, async (t) => {
  const pgCluster = theCluster()
  const url = await database(t)
  // The database's default is asynchronous commit: only the service's own session setting
  // (synchronous_commit=on, CONTRACT §12) keeps an acknowledged commit through the crash.
  await adminQuery(pgCluster.url, `ALTER DATABASE ${new URL(url).pathname.slice(1)} SET synchronous_commit = off`)
  const servers = [await replica(t, url), await replica(t, url)]
  const traffic = load(servers, 'crash')
  let down = false
  t.after(async () => {
    await traffic.stop()
    if (down) await pgCluster.start()
  })

  await untilAcknowledged(traffic, 300)
  await pgCluster.stop('immediate')
  down = true
  const beforeCrash = traffic.acknowledged.size

  for (const server of servers) {
    await within(10_000, `${server.url} answers 503 while the database is down`, async () => {
      const answer = await post(server.url, delivery(`outage-${Date.now()}`))
      return answer.status === 503 && Number(answer.headers.get('retry-after')) >= 1
    })
    const ready = await call(`${server.url}/health/ready`)
    assert.equal(ready.status, 503)
    assert.equal(ready.body.status, 'not_ready')
    assert.notEqual(ready.body.checks.database, 'ok', JSON.stringify(ready.body))
    assert.equal((await call(`${server.url}/health/live`)).status, 200)
    const read = await call(`${server.url}/messages`)
    assert.equal(read.status, 503)
    assert.ok(Number(read.headers.get('retry-after')) >= 1)
    assert.equal((await call(`${server.url}/stats`)).status, 503)
  }
  await sleep(1500) // the load keeps knocking meanwhile
  assert.ok(servers.every(running), 'no replica exits while the database is down')

  await pgCluster.start()
  down = false
  const recovered = await Promise.all(servers.map((server) => within(5_000, `${server.url} ready and storing again`, async () => {
    if ((await call(`${server.url}/health/ready`)).status !== 200) return false
    return (await post(server.url, delivery(`back-${server.port}-${Date.now()}`))).status === 200
  })))
  t.diagnostic(`recovered ${recovered.join(' ms, ')} ms after the database was back`)

  await untilAcknowledged(traffic, traffic.acknowledged.size + 100)
  await traffic.stop()
  assert.ok(servers.every(running), 'no replica exited')
  assert.deepEqual(traffic.wrong, [], 'only 200 or 503 with Retry-After')
  t.diagnostic(`${beforeCrash} acknowledged before the crash, ${traffic.acknowledged.size} in all; answers ${JSON.stringify([...traffic.statuses])}`)
  await assertNothingLost(url, traffic.acknowledged, servers)
})

test('a replica killed with SIGKILL under load loses nothing it acknowledged; the other one serves on', options, async (t) => {
  const url = await database(t)
  const [a, b] = [await replica(t, url), await replica(t, url)]
  const traffic = load([a, b], 'kill')
  t.after(() => traffic.stop())
  await untilAcknowledged(traffic, 300)
  assert.equal(await a.kill('SIGKILL'), 'SIGKILL')
  const atKill = traffic.acknowledged.size
  await untilAcknowledged(traffic, atKill + 200)
  await traffic.stop()
  assert.ok(running(b))
  assert.deepEqual(traffic.wrong, [])
  assert.equal([...traffic.statuses.keys()].filter((key) => key.startsWith(`${b.port}:`) && key !== `${b.port}:200`).length, 0,
    `the surviving replica answered only 200: ${JSON.stringify([...traffic.statuses])}`)
  t.diagnostic(`${atKill} acknowledged at the kill, ${traffic.acknowledged.size} in all`)
  await assertNothingLost(url, traffic.acknowledged, [b])
})

test('started while the database is down: liveness 200, readiness 503 naming database, ready once it is up', options, async (t) => {
  const pgCluster = theCluster()
  const url = await database(t)
  await pgCluster.stop('fast')
  let down = true
  t.after(async () => { if (down) await pgCluster.start() })

  const server = await replica(t, url) // resolves once /health/live answers
  assert.equal((await call(`${server.url}/health/live`)).status, 200)
  const ready = await call(`${server.url}/health/ready`)
  assert.equal(ready.status, 503)
  assert.notEqual(ready.body.checks.database, 'ok', JSON.stringify(ready.body))
  const refused = await post(server.url, delivery('early'))
  assert.equal(refused.status, 503)
  assert.ok(Number(refused.headers.get('retry-after')) >= 1)
  await sleep(1000)
  assert.ok(running(server), 'waiting for the database is not an error')

  await pgCluster.start()
  down = false
  const took = await within(5_000, 'ready after the database came up', async () => (await call(`${server.url}/health/ready`)).status === 200)
  t.diagnostic(`ready ${took} ms after the database came up`)
  assert.equal((await post(server.url, delivery('late'))).status, 200)
  assert.deepEqual([...await sqlIds(url)], ['late'])
})

/** The migrations' advisory lock (src/store/postgres/migrations.ts MIGRATION_LOCK, "hook"). */
const MIGRATION_LOCK = 0x686f6f6b

/**
 * Another session holding the migrations' lock, as a replica in the middle of a long migration does:
 * a replica started now waits for it with a connection checked out of its pool. Released after the test.
 */
async function holdMigrationLock (t: TestContext, url: string): Promise<{ release: () => Promise<void>, waiters: () => Promise<number> }> {
  const holder = new pg.Client({ connectionString: url })
  holder.on('error', () => {})
  await holder.connect()
  t.after(() => holder.end().catch(() => {}))
  await holder.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK])
  return {
    release: async () => { await holder.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK]) },
    waiters: async () => (await adminQuery(url, `SELECT pid FROM pg_stat_activity
      WHERE datname = current_database() AND application_name = 'hookvault' AND wait_event_type = 'Lock'`)).length
  }
}

test('the database ends the service\'s connections while it migrates (a restart, a failover): the process runs on and gets ready', options, async (t) => {
  const url = await database(t)
  const lock = await holdMigrationLock(t, url)
  const server = await replica(t, url)
  await within(10_000, 'the migration waits for the lock', async () => (await lock.waiters()) > 0)
  // End the checked-out connection from the server side, as a restart or a failover does.
  await adminQuery(url, `SELECT pg_terminate_backend(pid) FROM pg_stat_activity
    WHERE datname = current_database() AND application_name = 'hookvault'`)
  await sleep(1000)
  assert.ok(running(server), `the replica exited: ${server.stdout.slice(-5).join('\n')}`)
  assert.equal((await call(`${server.url}/health/live`)).status, 200)

  await lock.release()
  await within(5_000, 'ready once the migration can run', async () => (await call(`${server.url}/health/ready`)).status === 200)
  assert.equal((await post(server.url, delivery('after-terminate'))).status, 200)
})

test('while another process holds the migrations, readiness answers 503 at once instead of hanging', options, async (t) => {
  const url = await database(t)
  const lock = await holdMigrationLock(t, url)
  const server = await replica(t, url)
  await within(10_000, 'the migration waits for the lock', async () => (await lock.waiters()) > 0)
  // A probe that hangs until the load balancer's timeout is not a 503 naming the check (CONTRACT §5).
  const ready = await fetch(`${server.url}/health/ready`, { signal: AbortSignal.timeout(3000) }).catch((error: Error) => error)
  assert.ok(!(ready instanceof Error), `readiness did not answer within 3 s while migrations wait: ${String(ready)}`)
  assert.equal(ready.status, 503)
  assert.notEqual(((await ready.json()) as { checks: Record<string, string> }).checks.migrations, 'ok')
  await lock.release()
  await within(5_000, 'ready once the migration can run', async () => (await call(`${server.url}/health/ready`)).status === 200)
})

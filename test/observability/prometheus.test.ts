import assert from 'node:assert/strict'
import { spawn, spawnSync } from 'node:child_process'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { test } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'
import { sign } from '../../src/lib/signature.ts'
import { build, message, tempDir } from '../helper.ts'
import { freePort, startServer } from '../helpers/server-process.ts'
import { mixedTraffic, requireCommand, skipWithout } from '../helpers/exposition.ts'

/**
 * The contract (§6) names the histogram `request_latency_ms`; promtool's linter prefers base units
 * (seconds) and flags `_ms`. That is the only complaint we accept, and only in exactly this wording.
 */
const CONTRACT_NAMES_PROMTOOL_DISLIKES = new Set(['request_latency_ms metric names should not contain abbreviated units'])

test('promtool check metrics accepts the real /metrics output after mixed traffic', {
  skip: skipWithout('promtool')
}, async (t) => {
  requireCommand('promtool')
  const { app } = await build(t, { BODY_LIMIT: '200' })
  await mixedTraffic(app)
  const metrics = (await app.inject('/metrics')).body
  const check = spawnSync('promtool', ['check', 'metrics'], { input: metrics, encoding: 'utf8', timeout: 30_000 })
  const complaints = `${check.stdout}${check.stderr}`.split('\n').map((line) => line.trim()).filter((line) => line !== '')
  t.diagnostic(`promtool exit ${check.status}: ${complaints.join(' | ') || 'no complaints'}`)
  assert.deepEqual(complaints.filter((line) => !CONTRACT_NAMES_PROMTOOL_DISLIKES.has(line)), [])
  // 0 is clean, 3 is "lint problems" (only the accepted one, per the line above); anything else is a parse failure.
  assert.ok(check.status === 0 || check.status === 3, `promtool exit ${check.status}`)
})

test('promtool check metrics does complain about a broken exposition (the check above can fail)', {
  skip: skipWithout('promtool')
}, () => {
  requireCommand('promtool')
  const broken = '# TYPE things gauge\nthings_total 1\n'
  const check = spawnSync('promtool', ['check', 'metrics'], { input: broken, encoding: 'utf8', timeout: 30_000 })
  assert.notEqual(check.status, 0)
  assert.match(`${check.stdout}${check.stderr}`, /_total/)
})

interface PromVector { status: string, data: { result: Array<{ metric: Record<string, string>, value: [number, string] }> } }

async function query (base: string, promql: string): Promise<PromVector['data']['result']> {
  const response = await fetch(`${base}/api/v1/query?query=${encodeURIComponent(promql)}`, { signal: AbortSignal.timeout(5_000) })
  const body = await response.json() as PromVector
  assert.equal(body.status, 'success', JSON.stringify(body))
  return body.data.result
}

test('a real Prometheus server scrapes hookvault and sees exactly the created count', {
  skip: skipWithout('prometheus'),
  timeout: 120_000
}, async (t) => {
  requireCommand('prometheus')
  const dir = tempDir(t)
  const secret = 'prometheus-test-secret'
  const server = await startServer({ WEBHOOK_SECRET: secret, DATABASE_URL: `sqlite:///${join(dir, 'app.db')}` })
  t.after(() => server.kill())

  const promPort = await freePort()
  const config = join(dir, 'prometheus.yml')
  writeFileSync(config, [
    'global:',
    '  scrape_interval: 1s',
    '  evaluation_interval: 1s',
    'scrape_configs:',
    '  - job_name: hookvault',
    '    metrics_path: /metrics',
    '    static_configs:',
    `      - targets: ['127.0.0.1:${server.port}']`,
    ''
  ].join('\n'))
  const prometheus = spawn('prometheus', [
    `--config.file=${config}`,
    `--storage.tsdb.path=${join(dir, 'tsdb')}`,
    `--web.listen-address=127.0.0.1:${promPort}`
  ], { stdio: ['ignore', 'ignore', 'pipe'] })
  const promLog: string[] = []
  prometheus.stderr.on('data', (chunk: Buffer) => { promLog.push(chunk.toString('utf8')) })
  const promExited = new Promise((resolve) => prometheus.once('exit', resolve))
  t.after(async () => {
    if (prometheus.exitCode === null && prometheus.signalCode === null) prometheus.kill('SIGTERM')
    const ended = await Promise.race([promExited.then(() => true), sleep(10_000, undefined, { ref: false }).then(() => false)])
    if (!ended) {
      prometheus.kill('SIGKILL')
      await promExited
    }
  })
  const base = `http://127.0.0.1:${promPort}`

  const N = 7
  for (let i = 0; i < N; i++) {
    const body = JSON.stringify(message({ message_id: `prom-${i}` }))
    const response = await fetch(`${server.url}/webhook`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-signature': sign(secret, body) },
      body
    })
    assert.equal(response.status, 200)
  }
  // A duplicate and a bad signature must not count as created.
  const again = JSON.stringify(message({ message_id: 'prom-0' }))
  assert.equal((await fetch(`${server.url}/webhook`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-signature': sign(secret, again) }, body: again })).status, 200)
  assert.equal((await fetch(`${server.url}/webhook`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-signature': '0'.repeat(64) }, body: again })).status, 401)

  // Wait (bounded) until a scrape taken after the traffic is visible: the duplicate counter is 1 then.
  let created: string | undefined
  let duplicate: string | undefined
  const deadline = Date.now() + 60_000
  while (Date.now() < deadline) {
    try {
      duplicate = (await query(base, 'webhook_requests_total{job="hookvault",result="duplicate"}'))[0]?.value[1]
      created = (await query(base, 'webhook_requests_total{job="hookvault",result="created"}'))[0]?.value[1]
      if (duplicate === '1' && created === String(N)) break
    } catch {} // Prometheus is still starting
    await sleep(250)
  }
  t.diagnostic(`prometheus saw created=${created} duplicate=${duplicate}`)
  assert.equal(duplicate, '1', `no scrape after the traffic within 60 s; prometheus log:\n${promLog.join('').slice(-3000)}`)
  assert.equal(created, String(N))
  const up = await query(base, 'up{job="hookvault"}')
  assert.equal(up[0]?.value[1], '1')
  // The scrape parsed our histogram too.
  const buckets = await query(base, 'count(request_latency_ms_bucket{job="hookvault",path="/webhook",method="POST"})')
  assert.ok(Number(buckets[0]?.value[1]) >= 9, JSON.stringify(buckets))
})

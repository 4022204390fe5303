import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { test } from 'node:test'
import { fileURLToPath } from 'node:url'
import { parse as parseYaml } from 'yaml'
import { build, tempDir } from '../helper.ts'
import { mixedTraffic, parseExposition, requireCommand, skipWithout } from '../helpers/exposition.ts'

const ROOT = fileURLToPath(new URL('../../observability/', import.meta.url))
const PROMETHEUS_CONFIG = join(ROOT, 'prometheus/prometheus.yml')
const SKIP_PROMTOOL = skipWithout('promtool')

interface Panel { title?: string, datasource?: { uid?: string }, targets?: Array<{ expr?: string }>, panels?: Panel[] }

function dashboard (): { uid: string, panels: Panel[] } {
  return JSON.parse(readFileSync(join(ROOT, 'grafana/dashboards/hookvault.json'), 'utf8'))
}

/** Every PromQL expression of every panel, rows' nested panels included. */
function expressions (panels: Panel[]): string[] {
  return panels.flatMap((panel) => [
    ...(panel.targets ?? []).map((target) => target.expr).filter((expr): expr is string => expr !== undefined),
    ...expressions(panel.panels ?? [])
  ])
}

const NOT_METRICS = new Set(['by', 'without', 'on', 'ignoring', 'group_left', 'group_right', 'bool', 'and', 'or', 'unless', 'offset', 'inf', 'nan'])

/**
 * Metric names and grouping labels in a PromQL expression. Strings, label matchers, ranges and Grafana
 * variables are removed first; what is left that is not a function call, keyword or number is a metric.
 */
function namesIn (expr: string): { metrics: Set<string>, labels: Set<string> } {
  const labels = new Set<string>()
  let rest = expr.replace(/"(?:[^"\\]|\\.)*"/g, '""').replace(/\$\w+/g, '')
  for (const [, list] of rest.matchAll(/\b(?:by|without|on|ignoring|group_left|group_right)\s*\(([^)]*)\)/g)) {
    for (const label of list!.split(',')) if (label.trim() !== '') labels.add(label.trim())
  }
  for (const [, matchers] of rest.matchAll(/\{([^}]*)\}/g)) {
    for (const [, label] of matchers!.matchAll(/([a-zA-Z_]\w*)\s*(?:=~|!~|!=|=)/g)) labels.add(label!)
  }
  rest = rest
    .replace(/\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' ')
    .replace(/\{[^}]*\}/g, ' ')
    .replace(/\[[^\]]*\]/g, ' ')
  const metrics = new Set<string>()
  for (const match of rest.matchAll(/[a-zA-Z_:][a-zA-Z0-9_:]*(?=\s*(\()?)/g)) {
    const [name, call] = [match[0], match[1]]
    if (call !== undefined || NOT_METRICS.has(name.toLowerCase())) continue
    if (/\d/.test(rest[match.index - 1] ?? '')) continue // the `e` of 1e3 or the tail of a number
    metrics.add(name)
  }
  return { metrics, labels }
}

test('the metric-name extractor finds names and ignores functions, keywords, labels and variables', () => {
  const { metrics, labels } = namesIn('histogram_quantile(0.95, sum by (le, path) (rate(request_latency_ms_bucket{status=~"5..",x="a b"}[$__rate_interval]))) / on(path) group_left nope_total offset 5m')
  assert.deepEqual([...metrics].sort(), ['nope_total', 'request_latency_ms_bucket'])
  assert.deepEqual([...labels].sort(), ['le', 'path', 'status', 'x'])
})

test('promtool check config accepts observability/prometheus/prometheus.yml', { skip: SKIP_PROMTOOL }, () => {
  requireCommand('promtool')
  const check = spawnSync('promtool', ['check', 'config', PROMETHEUS_CONFIG], { encoding: 'utf8', timeout: 30_000 })
  assert.equal(check.status, 0, `${check.stdout}${check.stderr}`)
})

test('Prometheus scrapes api:8000/metrics every 5 s as job hookvault', () => {
  const config = parseYaml(readFileSync(PROMETHEUS_CONFIG, 'utf8'))
  const jobs = config.scrape_configs as Array<Record<string, any>>
  const job = jobs.find((candidate) => candidate.job_name === 'hookvault')
  assert.ok(job !== undefined)
  assert.equal(job.metrics_path, '/metrics')
  assert.equal(job.scrape_interval, '5s')
  assert.deepEqual(job.static_configs, [{ targets: ['api:8000'] }])
})

test('Grafana provisioning: the default datasource is that Prometheus, dashboards load from the mounted folder', () => {
  const datasources = parseYaml(readFileSync(join(ROOT, 'grafana/provisioning/datasources/prometheus.yml'), 'utf8'))
  assert.equal(datasources.apiVersion, 1)
  assert.deepEqual(datasources.datasources.map((ds: Record<string, unknown>) => [ds.uid, ds.type, ds.url, ds.isDefault]),
    [['prometheus', 'prometheus', 'http://prometheus:9090', true]])
  const providers = parseYaml(readFileSync(join(ROOT, 'grafana/provisioning/dashboards/hookvault.yml'), 'utf8'))
  assert.equal(providers.apiVersion, 1)
  assert.deepEqual(providers.providers.map((p: Record<string, any>) => [p.type, p.options.path]), [['file', '/var/lib/grafana/dashboards']])
})

test('every panel queries the provisioned datasource, and the dashboard covers rate, quantiles, results and errors', () => {
  const { uid, panels } = dashboard()
  assert.equal(uid, 'hookvault')
  for (const panel of panels) assert.equal(panel.datasource?.uid, 'prometheus', panel.title)
  const all = expressions(panels).join('\n')
  assert.match(all, /sum by \(path\) \(rate\(http_requests_total\[/)
  for (const q of ['0.5', '0.95', '0.99']) assert.ok(all.includes(`histogram_quantile(${q}, sum by (le) (rate(request_latency_ms_bucket[`), q)
  assert.match(all, /sum by \(result\) \(rate\(webhook_requests_total\[/)
  assert.ok(all.includes('status=~"4.."') && all.includes('status=~"5.."'))
})

test('every metric and grouping label in the dashboard is exposed by the real app', async (t) => {
  const { app } = await build(t, { BODY_LIMIT: '200' })
  await mixedTraffic(app)
  const exposition = parseExposition((await app.inject('/metrics')).body)
  const exposed = new Set(exposition.samples.map((sample) => sample.name))
  const exposedLabels = new Set(exposition.samples.flatMap((sample) => Object.keys(sample.labels)))
  const used = expressions(dashboard().panels).map(namesIn)
  const metrics = new Set(used.flatMap((names) => [...names.metrics]))
  const labels = new Set(used.flatMap((names) => [...names.labels]))
  t.diagnostic(`dashboard metrics: ${[...metrics].sort().join(', ')}; labels: ${[...labels].sort().join(', ')}`)
  assert.ok(metrics.size >= 3)
  for (const name of metrics) assert.ok(exposed.has(name), `the dashboard queries ${name}, which /metrics does not expose`)
  for (const label of labels) assert.ok(exposedLabels.has(label), `the dashboard groups by ${label}, which no series carries`)
})

test('promtool parses every dashboard expression as PromQL', { skip: SKIP_PROMTOOL }, (t) => {
  requireCommand('promtool')
  // Recording rules are the one place promtool checks PromQL offline; Grafana's $__rate_interval becomes 1m.
  const rules = expressions(dashboard().panels).map((expr, i) =>
    `      - record: dashboard:expr_${i}\n        expr: ${JSON.stringify(expr.replaceAll('$__rate_interval', '1m'))}`)
  const file = join(tempDir(t), 'rules.yml')
  writeFileSync(file, `groups:\n  - name: dashboard\n    rules:\n${rules.join('\n')}\n`)
  const check = spawnSync('promtool', ['check', 'rules', file], { encoding: 'utf8', timeout: 30_000 })
  assert.equal(check.status, 0, `${check.stdout}${check.stderr}`)
  assert.match(check.stdout, new RegExp(`SUCCESS: ${rules.length} rules found`))
})

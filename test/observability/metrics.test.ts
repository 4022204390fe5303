import assert from 'node:assert/strict'
import { test } from 'node:test'
import type { FastifyInstance } from 'fastify'
import { build } from '../helper.ts'
import { mixedTraffic, parseExposition, valueOf, type Exposition } from '../helpers/exposition.ts'

const RESULTS = ['created', 'duplicate', 'invalid_signature', 'validation_error'] as const

async function scrape (app: FastifyInstance): Promise<Exposition> {
  const response = await app.inject('/metrics')
  assert.equal(response.statusCode, 200)
  return parseExposition(response.body)
}

test('/metrics answers 200 in the text format 0.0.4 from the very first request', async (t) => {
  const { app } = await build(t)
  const response = await app.inject('/metrics')
  assert.equal(response.statusCode, 200)
  assert.match(String(response.headers['content-type']), /^text\/plain; version=0\.0\.4(;|$)/)
  const exposition = parseExposition(response.body)
  assert.equal(exposition.types.get('http_requests_total'), 'counter')
  assert.equal(exposition.types.get('webhook_requests_total'), 'counter')
  assert.equal(exposition.types.get('request_latency_ms'), 'histogram')
})

test('the four webhook results exist at 0 before any traffic', async (t) => {
  const { app } = await build(t)
  const exposition = await scrape(app)
  for (const result of RESULTS) assert.equal(valueOf(exposition, 'webhook_requests_total', { result }), 0, result)
})

test('counts after mixed traffic: every webhook outcome, status and route template', async (t) => {
  const { app } = await build(t, { BODY_LIMIT: '200' })
  await mixedTraffic(app)
  const exposition = await scrape(app)
  const webhook = (result: string) => valueOf(exposition, 'webhook_requests_total', { result })
  assert.deepEqual(
    ['created', 'duplicate', 'invalid_signature', 'validation_error', 'payload_too_large', 'unsupported_media_type'].map(webhook),
    [2, 1, 1, 1, 1, 1])
  assert.equal(webhook('unavailable'), undefined, 'no 503 happened, so no series yet')

  const http = (method: string, path: string, status: string) => valueOf(exposition, 'http_requests_total', { method, path, status })
  assert.equal(http('POST', '/webhook', '200'), 3)
  for (const status of ['401', '413', '415', '422']) assert.equal(http('POST', '/webhook', status), 1, status)
  assert.equal(http('GET', '/messages', '200'), 1)
  assert.equal(http('GET', '/stats', '200'), 1)
  assert.equal(http('GET', 'unmatched', '404'), 1)
  assert.equal(http('DELETE', 'unmatched', '405'), 1)

  // Every path label is a template or `unmatched`: no query string, no raw unknown URL.
  const paths = new Set(exposition.samples.filter((s) => s.labels.path !== undefined).map((s) => s.labels.path))
  assert.deepEqual([...paths].sort(), ['/messages', '/stats', '/webhook', 'unmatched'])

  assert.equal(valueOf(exposition, 'request_latency_ms_count', { method: 'POST', path: '/webhook' }), 7)
  assert.equal(valueOf(exposition, 'request_latency_ms_count', { method: 'GET', path: 'unmatched' }), 1)
})

test('requests to /metrics are counted like any other', async (t) => {
  const { app } = await build(t)
  await scrape(app)
  assert.equal(valueOf(await scrape(app), 'http_requests_total', { method: 'GET', path: '/metrics', status: '200' }), 1)
})

/** Our series: one per metric and label set, a histogram's buckets, sum and count counting once. */
function ourSeries (exposition: Exposition): Set<string> {
  const series = new Set<string>()
  for (const { name, labels } of exposition.samples) {
    const family = name.replace(/_(bucket|sum|count)$/, '')
    if (!['http_requests_total', 'request_latency_ms', 'webhook_requests_total'].includes(family)) continue
    const { le: _le, ...rest } = labels
    series.add(`${family}${JSON.stringify(rest)}`)
  }
  return series
}

test('10,000 distinct unknown URLs add only a handful of series', async (t) => {
  const { app } = await build(t)
  const before = ourSeries(await scrape(app))
  for (let i = 0; i < 10_000; i++) {
    const response = await app.inject({ method: i % 2 === 0 ? 'GET' : 'POST', url: `/unknown/${i}/${'x'.repeat(i % 50)}?q=${i}` })
    assert.equal(response.statusCode, 404)
  }
  const after = await scrape(app)
  const added = [...ourSeries(after)].filter((series) => !before.has(series))
  // GET and POST 404 (counter + histogram each) and the first scrape of /metrics (counter + histogram).
  assert.ok(added.length <= 6, `new series: ${added.join(', ')}`)
  assert.equal(valueOf(after, 'http_requests_total', { method: 'GET', path: 'unmatched', status: '404' }), 5000)
  assert.equal(valueOf(after, 'http_requests_total', { method: 'POST', path: 'unmatched', status: '404' }), 5000)
  assert.ok(!after.samples.some((s) => s.labels.path?.startsWith('/unknown')), 'a raw URL became a label')
})

test('the latency histogram has the contract buckets, and counts fall into them', async (t) => {
  const { app } = await build(t)
  await app.inject('/health/live')
  const exposition = await scrape(app)
  const buckets = exposition.samples.filter((s) =>
    s.name === 'request_latency_ms_bucket' && s.labels.method === 'GET' && s.labels.path === '/health/live')
  const bounds = buckets.map((s) => s.labels.le)
  for (const le of ['5', '10', '25', '50', '100', '250', '500', '1000', '+Inf']) assert.ok(bounds.includes(le), `le=${le} in ${bounds}`)
  assert.equal(buckets.find((s) => s.labels.le === '+Inf')?.value, 1)
  const counts = buckets.map((s) => s.value)
  assert.deepEqual(counts, [...counts].sort((a, b) => a - b), 'buckets are cumulative')
})

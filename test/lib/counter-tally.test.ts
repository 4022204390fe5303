import assert from 'node:assert/strict'
import { test } from 'node:test'
import promClient from 'prom-client'
import { CounterTally } from '../../src/lib/counter-tally.ts'

test('a tallied counter exposes what direct inc() calls would, in the same series order', async () => {
  const direct = new promClient.Registry()
  const tallied = new promClient.Registry()
  const labelNames = ['method', 'status'] as const
  const plain = new promClient.Counter({ name: 'requests_total', help: 'h', labelNames, registers: [direct] })
  const tally = new CounterTally<'method' | 'status'>()
  new promClient.Counter({ name: 'requests_total', help: 'h', labelNames, registers: [tallied], collect () { tally.flush(this) } }) // eslint-disable-line no-new
  const calls: Array<[string, number]> = [['POST', 200], ['GET', 404], ['POST', 200], ['POST', 401], ['GET', 404], ['POST', 200]]
  for (const [index, [method, status]] of calls.entries()) {
    plain.inc({ method, status })
    tally.increment(`${method} ${status}`, { method, status })
    if (index === 2) assert.equal(await tallied.metrics(), await direct.metrics()) // a scrape in between
  }
  tally.increment('GET 200', { method: 'GET', status: 200 }, 3)
  plain.inc({ method: 'GET', status: 200 }, 3)
  assert.equal(await tallied.metrics(), await direct.metrics())
  assert.equal(await tallied.metrics(), await direct.metrics()) // a second read adds nothing
})

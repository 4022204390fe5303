import assert from 'node:assert/strict'
import { test } from 'node:test'
import { build, deliver, message } from '../helper.ts'

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

/** Polls `check` until it holds; the bound is generous, since under-pressure samples once a second. */
async function eventually (check: () => boolean | Promise<boolean>, ms = 30_000): Promise<boolean> {
  for (const end = Date.now() + ms; Date.now() < end; await sleep(50)) if (await check()) return true
  return check()
}

/** Keeps the event loop blocked most of the time, as a saturated process would be. */
function saturate (): () => void {
  const state = { running: true }
  const spin = () => {
    const until = Date.now() + 60
    while (Date.now() < until) { /* busy: that is the point */ }
    if (state.running) setTimeout(spin, 1)
  }
  spin()
  return () => { state.running = false }
}

test('an overloaded event loop: 503 {"detail"} with Retry-After at once; health and metrics still answer; then back to normal', async (t) => {
  const { app } = await build(t, { PRESSURE_MAX_EVENT_LOOP_DELAY_MS: '20' })
  assert.equal((await app.inject('/stats')).statusCode, 200)
  const stop = saturate()
  let shed = await app.inject('/stats')
  await eventually(async () => (shed = await app.inject('/stats')).statusCode === 503)
  try {
    assert.equal(shed.statusCode, 503)
    assert.deepEqual(shed.json(), { detail: 'server overloaded' })
    assert.match(String(shed.headers['retry-after']), /^[1-9]\d*$/)
    const webhook = await deliver(app, message())
    assert.equal(webhook.statusCode, 503)
    assert.deepEqual(webhook.json(), { detail: 'server overloaded' })
    assert.equal((await app.inject('/health/live')).statusCode, 200)
    assert.equal((await app.inject('/metrics')).statusCode, 200)
  } finally {
    stop()
  }
  let status = 0
  await eventually(async () => (status = (await deliver(app, message())).statusCode) === 200)
  assert.equal(status, 200, 'the service came back once the load was gone')
  assert.equal((await app.inject('/messages')).json().total, 1, 'the shed delivery was not stored')
})

test('the default threshold does not shed an ordinary burst of deliveries', async (t) => {
  const { app } = await build(t)
  // Building the app blocks the event loop for a while, longer on a loaded machine, and under-pressure's
  // first one-second sample may count that as load: the burst starts once the process is measured idle.
  assert.ok(await eventually(() => !app.isUnderPressure()), `still under pressure: ${JSON.stringify(app.memoryUsage())}`)
  const responses = await Promise.all(Array.from({ length: 300 }, (_, i) => deliver(app, message({ message_id: `m${i}` }))))
  assert.deepEqual([...new Set(responses.map((r) => r.statusCode))], [200])
})

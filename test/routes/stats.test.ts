import assert from 'node:assert/strict'
import { test } from 'node:test'
import { build, deliver, message } from '../helper.ts'

test('empty store: zeros, empty list, nulls', async (t) => {
  const { app } = await build(t)
  const response = await app.inject('/stats')
  assert.equal(response.statusCode, 200)
  assert.deepEqual(response.json(), { total_messages: 0, senders_count: 0, messages_per_sender: [], first_message_ts: null, last_message_ts: null })
})

test('counts, top senders by count then sender, first and last by instant', async (t) => {
  const { app } = await build(t)
  const sends: Array<[string, string, string]> = [
    ['a1', '+3', '2025-01-15T10:00:00.5Z'], ['a2', '+3', '2025-01-15T10:00:00Z'], ['a3', '+3', '2025-01-14T00:00:00Z'],
    ['b1', '+2', '2025-01-16T00:00:00.25Z'], ['b2', '+2', '2025-01-16T00:00:00.250000001Z'],
    ['c1', '+10', '2025-01-15T00:00:00Z'], ['c2', '+10', '2025-01-15T00:00:00Z'],
    ['d1', '+1', '2025-01-15T00:00:00Z']
  ]
  for (const [id, from, ts] of sends) assert.equal((await deliver(app, message({ message_id: id, from, ts }))).statusCode, 200)
  await deliver(app, message({ message_id: 'a1', from: '+9', ts: '2030-01-01T00:00:00Z' })) // duplicate: changes nothing
  assert.deepEqual((await app.inject('/stats')).json(), {
    total_messages: 8,
    senders_count: 4,
    messages_per_sender: [{ from: '+3', count: 3 }, { from: '+10', count: 2 }, { from: '+2', count: 2 }, { from: '+1', count: 1 }],
    first_message_ts: '2025-01-14T00:00:00Z',
    last_message_ts: '2025-01-16T00:00:00.250000001Z'
  })
})

test('only the top 10 senders are listed, but every sender is counted', async (t) => {
  const { app } = await build(t)
  for (let s = 0; s < 12; s++) {
    for (let i = 0; i <= s % 3; i++) await deliver(app, message({ message_id: `${s}-${i}`, from: `+${100 + s}` }))
  }
  const stats = (await app.inject('/stats')).json()
  assert.equal(stats.senders_count, 12)
  assert.equal(stats.total_messages, 24)
  assert.equal(stats.messages_per_sender.length, 10)
  assert.deepEqual(stats.messages_per_sender.slice(0, 4), [{ from: '+102', count: 3 }, { from: '+105', count: 3 }, { from: '+108', count: 3 }, { from: '+111', count: 3 }])
  assert.deepEqual(stats.messages_per_sender.slice(4), [{ from: '+101', count: 2 }, { from: '+104', count: 2 }, { from: '+107', count: 2 }, { from: '+110', count: 2 }, { from: '+100', count: 1 }, { from: '+103', count: 1 }])
})

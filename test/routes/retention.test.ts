import assert from 'node:assert/strict'
import { join } from 'node:path'
import { test } from 'node:test'
import type { FastifyInstance } from 'fastify'
import type { Message } from '../../schemas/messages.ts'
import { ConfigError, loadConfig } from '../../src/config.ts'
import { instantKey } from '../../src/lib/timestamp.ts'
import { foldCase } from '../../src/store/fold-case.ts'
import { retentionCutoff, SWEEP_BATCH } from '../../src/plugins/app/retention.ts'
import { parseExposition, valueOf } from '../helpers/exposition.ts'
import { build, deliver, tempDir } from '../helper.ts'
import { byteOrder, plainStats } from '../helpers/plain-stats.ts'

const DAY = 86_400_000
const ordered = (rows: Message[]) => [...rows].sort((a, b) => {
  const [ka, kb] = [instantKey(a.ts)!, instantKey(b.ts)!]
  return ka !== kb ? (ka < kb ? -1 : 1) : byteOrder(a.message_id, b.message_id)
})

/** A ts `ageMs` before now, with or without a fraction. */
const ago = (ageMs: number, fraction: boolean) => {
  const iso = new Date(Date.now() - ageMs).toISOString()
  return fraction ? iso : iso.replace(/\.\d+Z$/, 'Z')
}

async function deletedTotal (app: FastifyInstance): Promise<number> {
  return valueOf(parseExposition((await app.inject('/metrics')).body), 'messages_deleted_total', { reason: 'retention' }) ?? NaN
}

async function until (what: string, check: () => Promise<boolean>, timeoutMs = 10_000) {
  const end = Date.now() + timeoutMs
  while (!(await check())) {
    assert.ok(Date.now() < end, `timed out waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
}

/** Every read a user would notice, against the plain definition over `kept`. */
async function assertReads (app: FastifyInstance, kept: Message[], label: string) {
  const all = ordered(kept)
  const items: Message[] = []
  for (let offset = 0; ; offset += 100) {
    const page = (await app.inject(`/messages?limit=100&offset=${offset}`)).json()
    assert.equal(page.total, all.length, `${label}: total`)
    items.push(...page.data)
    if (page.data.length < 100) break
  }
  assert.deepEqual(items, all, `${label}: listing`)
  for (const q of ['old', 'NEW', 'é', 'x']) {
    const matching = all.filter((m) => m.text !== null && foldCase(m.text).includes(foldCase(q)))
    const page = (await app.inject(`/messages?limit=100&q=${encodeURIComponent(q)}`)).json()
    assert.equal(page.total, matching.length, `${label}: search ${q}`)
    assert.deepEqual(page.data, matching.slice(0, 100), `${label}: search ${q}`)
  }
  for (const from of ['+1', '+2', '+3', '+4']) {
    const page = (await app.inject(`/messages?limit=100&from=${encodeURIComponent(from)}`)).json()
    assert.equal(page.total, all.filter((m) => m.from === from).length, `${label}: from ${from}`)
  }
  assert.deepEqual((await app.inject('/stats')).json(), plainStats(all), `${label}: stats`)
  const exported = (await app.inject('/messages/export')).body
  assert.deepEqual(exported === '' ? [] : exported.slice(0, -1).split('\n').map((l) => JSON.parse(l)), all, `${label}: export`)
}

test('RETENTION_DAYS and RETENTION_SWEEP_INTERVAL_S: defaults, values, and refused values naming the variable', () => {
  assert.deepEqual(loadConfig({ WEBHOOK_SECRET: 's' }).retention, { days: null, sweepIntervalMs: 3_600_000 })
  assert.deepEqual(loadConfig({ WEBHOOK_SECRET: 's', RETENTION_DAYS: '30', RETENTION_SWEEP_INTERVAL_S: '1' }).retention,
    { days: 30, sweepIntervalMs: 1000 })
  assert.deepEqual(loadConfig({ WEBHOOK_SECRET: 's', RETENTION_DAYS: '' }).retention.days, null)
  for (const [variable, value] of [['RETENTION_DAYS', '0'], ['RETENTION_DAYS', '-1'], ['RETENTION_DAYS', '1.5'], ['RETENTION_DAYS', 'forever'],
    ['RETENTION_DAYS', '100000'], ['RETENTION_SWEEP_INTERVAL_S', '0'], ['RETENTION_SWEEP_INTERVAL_S', '1h'], ['RETENTION_SWEEP_INTERVAL_S', '1000000']]) {
    assert.throws(() => loadConfig({ WEBHOOK_SECRET: 's', [variable!]: value! }), (error: unknown) =>
      error instanceof ConfigError && error.variable === variable && error.message.includes(JSON.stringify(value)), `${variable}=${value}`)
  }
  assert.equal(retentionCutoff(Date.parse('2025-03-01T00:00:00Z'), 1), '2025-02-28T00:00:00.000000000Z')
})

test('without RETENTION_DAYS nothing is deleted, and the counter exists at 0', async (t) => {
  const { app } = await build(t, { RETENTION_SWEEP_INTERVAL_S: '1' })
  assert.equal((await deliver(app, { message_id: 'ancient', from: '+1', to: '+2', ts: '1999-01-01T00:00:00Z' })).statusCode, 200)
  await new Promise((resolve) => setTimeout(resolve, 1200))
  assert.equal((await app.inject('/messages')).json().total, 1)
  assert.equal(await deletedTotal(app), 0)
})

test('a sweep deletes exactly what is past retention; every read stays exact; a deleted id is stored again', async (t) => {
  const filename = join(tempDir(t), 'app.db')
  const { app } = await build(t, { DATABASE_URL: `sqlite:///${filename}`, RETENTION_DAYS: '30', RETENTION_SWEEP_INTERVAL_S: '1' })
  const sent: Message[] = []
  const texts = ['old news', 'NEW here', 'café É', null, '', 'x marks']
  // More old rows than one batch, senders whose every row goes (+4) or only some; ages around the cutoff.
  for (let i = 0; i < SWEEP_BATCH.first * 6 + 150; i++) {
    const old = i % 3 !== 0
    const age = old ? 31 * DAY + (i % 50) * DAY : (i % 29) * DAY + 1000
    sent.push({ message_id: `m${i}`, from: old && i % 7 === 0 ? '+4' : `+${1 + (i % 3)}`, to: '+9', ts: ago(age, i % 2 === 0), text: texts[i % texts.length]! })
  }
  // Close to the edge on both sides: a day's margin against the sweep's own clock.
  sent.push({ message_id: 'edge-old', from: '+1', to: '+9', ts: ago(31 * DAY - 60_000, false), text: 'old edge' })
  sent.push({ message_id: 'edge-new', from: '+1', to: '+9', ts: ago(29 * DAY, false), text: 'new edge' })
  for (let i = 0; i < sent.length; i += 200) await app.store.saveAll(sent.slice(i, i + 200))
  const cutoff = () => retentionCutoff(Date.now(), 30)
  const kept = () => sent.filter((m) => instantKey(m.ts)! >= cutoff())
  const expectedDeleted = sent.length - kept().length
  assert.ok(expectedDeleted > SWEEP_BATCH.first * 3)

  await until('the sweep', async () => (await deletedTotal(app)) === expectedDeleted)
  await assertReads(app, kept(), 'after the sweep')

  // A deleted id, delivered again inside the retention window: stored again, and counted as new.
  const again: Message = { message_id: 'm1', from: '+4', to: '+9', ts: ago(DAY, false), text: 'NEW again' }
  assert.equal((await deliver(app, again)).statusCode, 200)
  const exposition = parseExposition((await app.inject('/metrics')).body)
  assert.equal(valueOf(exposition, 'webhook_requests_total', { result: 'created' }), 1)
  await assertReads(app, [...kept(), again], 'after re-delivery')
  // The next sweeps leave it alone.
  await new Promise((resolve) => setTimeout(resolve, 1200))
  assert.equal(await deletedTotal(app), expectedDeleted)
  await assertReads(app, [...kept(), again], 'after another sweep')
})

test('closing the app during a long sweep stops it between batches, and the store closes cleanly', async (t) => {
  const filename = join(tempDir(t), 'app.db')
  const { app, logs } = await build(t, { DATABASE_URL: `sqlite:///${filename}`, RETENTION_DAYS: '1', RETENTION_SWEEP_INTERVAL_S: '1' })
  const old = Array.from({ length: 20_000 }, (_, i): Message => ({ message_id: `o${i}`, from: '+1', to: '+2', ts: '2001-01-01T00:00:00Z', text: 'x' }))
  for (let i = 0; i < old.length; i += 1000) await app.store.saveAll(old.slice(i, i + 1000))
  await until('the sweep to start', async () => (await deletedTotal(app)) > 0)
  await app.close()
  assert.deepEqual(logs.filter((l) => l.level !== 'info' && l.level !== 30), [])
})

import assert from 'node:assert/strict'
import { test } from 'node:test'
import { instantKey, isTimestamp } from '../../src/lib/timestamp.ts'

test('accepts real UTC instants with an optional 1-9 digit fraction', () => {
  for (const ts of ['2025-01-15T10:00:00Z', '2024-02-29T23:59:59Z', '2025-01-15T10:00:00.5Z', '2025-01-15T10:00:00.123456789Z', '0001-01-01T00:00:00Z']) {
    assert.equal(isTimestamp(ts), true, ts)
  }
})

test('refuses impossible dates and times, offsets, lowercase z and other shapes', () => {
  for (const ts of [
    '2025-02-30T10:00:00Z', '2023-02-29T10:00:00Z', '1900-02-29T00:00:00Z', '2025-04-31T00:00:00Z', '2025-13-01T00:00:00Z',
    '2025-00-10T00:00:00Z', '2025-01-00T00:00:00Z', '2025-01-15T24:00:00Z', '2025-01-15T10:60:00Z', '2025-01-15T10:00:60Z',
    '2025-01-15T10:00:00+00:00', '2025-01-15T10:00:00z', '2025-01-15T10:00:00', '2025-01-15 10:00:00Z', '2025-01-15T10:00:00.Z',
    '2025-01-15T10:00:00.1234567890Z', '2025-1-15T10:00:00Z', ' 2025-01-15T10:00:00Z', '2025-01-15T10:00:00Z\n', '',
    '２025-01-15T10:00:00Z', '2025-01-15T10:00:0٠Z'
  ]) {
    assert.equal(isTimestamp(ts), false, JSON.stringify(ts))
  }
})

test('the instant key sorts by instant, whatever the fraction length', () => {
  const ordered = ['2025-01-15T10:00:00Z', '2025-01-15T10:00:00.000000001Z', '2025-01-15T10:00:00.1Z', '2025-01-15T10:00:00.5Z', '2025-01-15T10:00:01Z']
  const keys = ordered.map((ts) => instantKey(ts)!)
  assert.deepEqual([...keys].sort(), keys)
  assert.equal(instantKey('2025-01-15T10:00:00Z'), instantKey('2025-01-15T10:00:00.000Z'))
})

/** The definition instantKey implements by hand: the format as a regular expression. */
function regexInstantKey (ts: string): string | null {
  const m = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?Z$/.exec(ts)
  if (m === null) return null
  const [, y, mo, d, h, mi, s, fraction = ''] = m as unknown as string[]
  const year = Number(y)
  const month = Number(mo)
  const day = Number(d)
  const leap = (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0
  const days = month === 2 ? (leap ? 29 : 28) : [4, 6, 9, 11].includes(month) ? 30 : 31
  if (month < 1 || month > 12 || day < 1 || day > days) return null
  if (Number(h) > 23 || Number(mi) > 59 || Number(s) > 59) return null
  return `${y}-${mo}-${d}T${h}:${mi}:${s}.${fraction.padEnd(9, '0')}Z`
}

test('the instant key is the regular expression definition, on valid instants and on mutations of them', () => {
  let seed = 7
  const rnd = () => { seed = (seed * 1103515245 + 12345) % 2147483648; return seed / 2147483648 }
  const pick = <T>(items: readonly T[]) => items[Math.floor(rnd() * items.length)]!
  const pad = (n: number, width: number) => String(n).padStart(width, '0')
  const CHARS = ['0', '5', '9', '/', ':', '-', '.', 'T', 'Z', 'z', ' ', '\n', '٠', '２', 'a', '+']
  for (let i = 0; i < 20_000; i++) {
    let ts = `${pad(Math.floor(rnd() * 10_000), 4)}-${pad(Math.floor(rnd() * 14), 2)}-${pad(Math.floor(rnd() * 33), 2)}T` +
      `${pad(Math.floor(rnd() * 26), 2)}:${pad(Math.floor(rnd() * 62), 2)}:${pad(Math.floor(rnd() * 62), 2)}` +
      `${rnd() < 0.5 ? '' : '.' + '1234567890'.slice(0, Math.floor(rnd() * 11))}Z`
    if (rnd() < 0.5) {
      const at = Math.floor(rnd() * (ts.length + 1))
      const edit = rnd()
      if (edit < 0.4) ts = ts.slice(0, at) + pick(CHARS) + ts.slice(at + 1)
      else if (edit < 0.7) ts = ts.slice(0, at) + pick(CHARS) + ts.slice(at)
      else ts = ts.slice(0, at) + ts.slice(at + 1)
    }
    assert.equal(instantKey(ts), regexInstantKey(ts), JSON.stringify(ts))
  }
})

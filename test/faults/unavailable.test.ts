import assert from 'node:assert/strict'
import { test } from 'node:test'
import { SqliteError } from 'better-sqlite3'
import { StoreUnavailableError } from '../../src/store/errors.ts'
import { asUnavailable } from '../../src/store/sqlite/unavailable.ts'

test('transient SQLite failures become 503s with a stable reason', () => {
  const cases: Array<[string, string]> = [
    ['SQLITE_BUSY', 'database busy'], ['SQLITE_BUSY_SNAPSHOT', 'database busy'], ['SQLITE_LOCKED', 'database busy'],
    ['SQLITE_FULL', 'storage full'], ['SQLITE_READONLY', 'database read-only'], ['SQLITE_READONLY_DBMOVED', 'database read-only'],
    ['SQLITE_IOERR_WRITE', 'storage I/O error'], ['SQLITE_IOERR_FSYNC', 'storage I/O error'], ['SQLITE_CANTOPEN', 'database unavailable'],
    ['SQLITE_CORRUPT', 'database unavailable'], ['SQLITE_NOMEM', 'database out of memory']
  ]
  for (const [code, reason] of cases) {
    const error = asUnavailable(new SqliteError('x', code))
    assert.ok(error instanceof StoreUnavailableError, code)
    assert.equal(error.message, reason)
    assert.equal(error.retryAfterSeconds >= 1, true)
  }
  const closed = asUnavailable(new TypeError('The database connection is not open'))
  assert.ok(closed instanceof StoreUnavailableError)
})

test('bugs are not disguised as outages: a mismatch, a misuse or a plain error stays as it is (500)', () => {
  for (const code of ['SQLITE_MISMATCH', 'SQLITE_RANGE', 'SQLITE_ERROR', 'SQLITE_MISUSE', 'SQLITE_CONSTRAINT_NOTNULL']) {
    const original = new SqliteError('x', code)
    assert.equal(asUnavailable(original), original, code)
  }
  const plain = new Error('bug')
  assert.equal(asUnavailable(plain), plain)
})

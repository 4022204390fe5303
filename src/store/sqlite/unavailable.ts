import { SqliteError } from 'better-sqlite3'
import { StoreUnavailableError } from '../errors.ts'

// SQLite result-code families that mean "not now" rather than "this request or our code is wrong".
// https://www.sqlite.org/rescode.html
const REASONS: Array<[prefix: string, reason: string]> = [
  ['SQLITE_BUSY', 'database busy'],
  ['SQLITE_LOCKED', 'database busy'],
  ['SQLITE_PROTOCOL', 'database busy'],
  ['SQLITE_INTERRUPT', 'database busy'],
  ['SQLITE_SCHEMA', 'database busy'],
  ['SQLITE_FULL', 'storage full'],
  ['SQLITE_READONLY', 'database read-only'],
  ['SQLITE_PERM', 'database read-only'],
  ['SQLITE_CANTOPEN', 'database unavailable'],
  ['SQLITE_IOERR', 'storage I/O error'],
  ['SQLITE_NOMEM', 'database out of memory'],
  ['SQLITE_CORRUPT', 'database unavailable'],
  ['SQLITE_NOTADB', 'database unavailable'],
  ['SQLITE_NOLFS', 'storage full']
]

/**
 * Turns a SQLite failure the caller can retry into StoreUnavailableError (503 + Retry-After). Anything
 * else (a misuse, a datatype mismatch, a constraint we did not expect) is a bug: it is returned as is,
 * so it answers 500 and is logged in full rather than passing for a passing outage.
 */
export function asUnavailable (error: unknown): unknown {
  if (error instanceof StoreUnavailableError) return error
  if (error instanceof SqliteError) {
    const reason = REASONS.find(([prefix]) => error.code.startsWith(prefix))?.[1]
    return reason === undefined ? error : new StoreUnavailableError(reason, { cause: error })
  }
  if (error instanceof TypeError && /database connection is not open/.test(error.message)) {
    return new StoreUnavailableError('database closed', { cause: error })
  }
  return error
}

import { SqliteError } from 'better-sqlite3'
import { StoreUnavailableError } from '../../errors.ts'

// SQLite result-code families that mean "not now" rather than "your request is wrong".
// https://www.sqlite.org/rescode.html
const REASONS: Array<[prefix: string, reason: string]> = [
  ['SQLITE_BUSY', 'database busy'],
  ['SQLITE_LOCKED', 'database busy'],
  ['SQLITE_FULL', 'storage full'],
  ['SQLITE_READONLY', 'database read-only'],
  ['SQLITE_CANTOPEN', 'database unavailable'],
  ['SQLITE_IOERR', 'storage I/O error'],
  ['SQLITE_NOMEM', 'database out of memory'],
  ['SQLITE_CORRUPT', 'database unavailable'],
  ['SQLITE_NOTADB', 'database unavailable'],
  ['SQLITE_PROTOCOL', 'database busy']
]

/** Turns a SQLite failure into StoreUnavailableError (503); anything else is a bug and is rethrown as is. */
export function asUnavailable (error: unknown): unknown {
  if (error instanceof StoreUnavailableError) return error
  if (error instanceof SqliteError) {
    const reason = REASONS.find(([prefix]) => error.code.startsWith(prefix))?.[1] ?? 'database unavailable'
    return new StoreUnavailableError(reason, { cause: error })
  }
  if (error instanceof TypeError && /database connection is not open/.test(error.message)) {
    return new StoreUnavailableError('database closed', { cause: error })
  }
  return error
}

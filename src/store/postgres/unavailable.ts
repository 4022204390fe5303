import { StoreUnavailableError } from '../errors.ts'

// SQLSTATE classes and codes that mean "not now" rather than "this request or our code is wrong".
// https://www.postgresql.org/docs/15/errcodes-appendix.html
const CLASSES: Array<[prefix: string, reason: string]> = [
  ['08', 'database unavailable'], // connection exception
  ['53', 'database out of resources'], // disk full, out of memory, too many connections
  ['57P', 'database unavailable'], // admin or crash shutdown, cannot connect now
  ['58', 'storage I/O error'],
  ['40', 'database busy'], // serialization failure, deadlock: the whole batch rolled back
  ['55P03', 'database busy'], // lock not available
  ['57014', 'database busy'], // statement cancelled (statement_timeout)
  ['25006', 'database read-only'], // a read-only transaction: a standby, or default_transaction_read_only
  ['XX000', 'database unavailable'] // internal error, e.g. a hot standby that cannot take the write
]

/** Node socket errors and node-postgres's own words for a connection that is gone or never came. */
const CONNECTION_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ENOTFOUND', 'EAI_AGAIN', 'ETIMEDOUT', 'EPIPE', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOENT', 'EACCES'])
const CONNECTION_MESSAGES = /Connection terminated|connection error|not queryable|timeout exceeded when trying to connect|Connection timeout|Client was closed|Cannot use a pool after calling end|the database system is|terminating connection/i

/**
 * Turns a PostgreSQL or connection failure the caller can retry into StoreUnavailableError (503 +
 * Retry-After). Anything else (a syntax error, a constraint we did not expect) is a bug: returned as
 * is, so it answers 500 and is logged in full rather than passing for an outage.
 */
export function asUnavailable (error: unknown): unknown {
  if (error instanceof StoreUnavailableError) return error
  if (!(error instanceof Error)) return error
  const code = (error as { code?: unknown }).code
  if (typeof code === 'string') {
    if (CONNECTION_CODES.has(code)) return new StoreUnavailableError('database unreachable', { cause: error })
    const reason = CLASSES.find(([prefix]) => code.startsWith(prefix))?.[1]
    if (reason !== undefined) return new StoreUnavailableError(reason, { cause: error })
  }
  if (CONNECTION_MESSAGES.test(error.message)) return new StoreUnavailableError('database unreachable', { cause: error })
  // AggregateError: every address of the host refused (node's happy-eyeballs connect).
  if (error instanceof AggregateError && error.errors.some((e) => asUnavailable(e) instanceof StoreUnavailableError)) {
    return new StoreUnavailableError('database unreachable', { cause: error })
  }
  return error
}

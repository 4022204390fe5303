/** Where the data lives: a SQLite file (or ':memory:' for a throwaway database), or a PostgreSQL server. */
export type DatabaseLocation =
  | { engine: 'sqlite', filename: string }
  | {
    engine: 'postgres'
    /** The DATABASE_URL as given (libpq URL form); it may carry a password, so it is never logged. */
    url: string
    /** Connections this process keeps at most (DATABASE_POOL_MAX). */
    poolMax: number
  }

const SQLITE_PREFIXES = ['sqlite+aiosqlite://', 'sqlite://']
const POSTGRES_SCHEMES = ['postgres:', 'postgresql:']

/** The pool size when DATABASE_POOL_MAX is unset. */
export const DEFAULT_POOL_MAX = 10

/**
 * Parses DATABASE_URL. SQLite URLs read the way SQLAlchemy's do: three slashes then a relative path,
 * four slashes then an absolute one. PostgreSQL takes libpq's URL form (postgres:// or postgresql://,
 * with ?host=/socket/dir, sslmode and the other parameters node-postgres understands), passed through
 * as given. Returns null for anything no engine here understands.
 */
export function parseDatabaseUrl (url: string): DatabaseLocation | null {
  if (url === 'sqlite::memory:' || url === 'sqlite+aiosqlite::memory:') return { engine: 'sqlite', filename: ':memory:' }
  if (POSTGRES_SCHEMES.some((scheme) => url.startsWith(scheme + '//'))) return isPostgresUrl(url) ? { engine: 'postgres', url, poolMax: DEFAULT_POOL_MAX } : null
  const prefix = SQLITE_PREFIXES.find((p) => url.startsWith(p))
  if (prefix === undefined) return null
  const rest = url.slice(prefix.length)
  // "sqlite:///x" leaves "/x": the first slash ends the (empty) authority; what follows is the path.
  if (!rest.startsWith('/')) return null
  const path = rest.slice(1)
  if (path === '') return null
  return { engine: 'sqlite', filename: path }
}

/**
 * A URL node-postgres can connect with: it parses, and names a host or a socket directory (an empty
 * host, as in postgresql:///db, means libpq's default socket, which node-postgres does not know, so a
 * ?host= must say where it is). WHATWG URL refuses credentials before an empty host
 * (postgresql://user@/db?host=/socket), which libpq accepts, so the check reads such a URL with a
 * placeholder host.
 */
function isPostgresUrl (url: string): boolean {
  let parsed: URL
  try {
    parsed = new URL(url.replace(/^(postgres(?:ql)?:\/\/[^/?#]*@)(?=[/?#]|$)/, '$1placeholder'))
  } catch {
    return false
  }
  const host = parsed.hostname === 'placeholder' ? '' : parsed.hostname
  return host !== '' || (parsed.searchParams.get('host') ?? '') !== ''
}

/** The URL with any password replaced by `***`, for messages and logs (a refused URL is echoed back). */
export function withoutPassword (url: string): string {
  return url.replace(/^([a-z][a-z0-9+.-]*:\/\/[^:/?#@]*:)[^@/?#]*@/i, '$1***@')
}

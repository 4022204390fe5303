/** Where the SQLite engine keeps its data: a file path, or ':memory:' for a throwaway database. */
export interface DatabaseLocation {
  engine: 'sqlite'
  filename: string
}

const SQLITE_PREFIXES = ['sqlite+aiosqlite://', 'sqlite://']

/**
 * Parses DATABASE_URL the way SQLAlchemy-style URLs read: three slashes then a relative path,
 * four slashes then an absolute one. Returns null for anything no engine here understands.
 */
export function parseDatabaseUrl (url: string): DatabaseLocation | null {
  if (url === 'sqlite::memory:' || url === 'sqlite+aiosqlite::memory:') return { engine: 'sqlite', filename: ':memory:' }
  const prefix = SQLITE_PREFIXES.find((p) => url.startsWith(p))
  if (prefix === undefined) return null
  const rest = url.slice(prefix.length)
  // "sqlite:///x" leaves "/x": the first slash ends the (empty) authority; what follows is the path.
  if (!rest.startsWith('/')) return null
  const path = rest.slice(1)
  if (path === '') return null
  return { engine: 'sqlite', filename: path }
}

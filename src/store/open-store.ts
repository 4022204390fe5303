import type { DatabaseLocation } from '../lib/database-url.ts'
import type { MessageStore } from './port.ts'
import { PostgresStore } from './postgres/postgres-store.ts'
import { GuardedSqliteStore } from './sqlite/guarded-store.ts'
import { SqliteStore } from './sqlite/sqlite-store.ts'

/** Picks the engine for a DATABASE_URL; the only place that knows which engines exist. */
export function openStore (location: DatabaseLocation): MessageStore {
  switch (location.engine) {
    case 'sqlite': return location.filename === ':memory:'
      ? new SqliteStore({ filename: location.filename })
      : new GuardedSqliteStore({ filename: location.filename }) // notices a removed or replaced file
    // Connects lazily: a start while the server is unreachable is not an error.
    case 'postgres': return new PostgresStore({ url: location.url, poolMax: location.poolMax })
  }
}

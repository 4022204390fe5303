import type { DatabaseLocation } from '../lib/database-url.ts'
import type { MessageStore } from './port.ts'
import { SqliteStore } from './sqlite/sqlite-store.ts'

/** Picks the engine for a DATABASE_URL; the only place that knows which engines exist. */
export function openStore (location: DatabaseLocation): MessageStore {
  switch (location.engine) {
    case 'sqlite': return new SqliteStore({ filename: location.filename })
  }
}

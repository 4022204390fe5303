import type { Database } from 'better-sqlite3'

/**
 * Numbered, append-only migrations. `PRAGMA user_version` records the last one applied; each runs in
 * its own transaction with its version bump, so a crash mid-migration leaves the previous version.
 * Never edit a shipped migration: add the next number.
 */
export const MIGRATIONS: readonly string[] = [
  // 1: the contract's table, plus `ts_key`, the instant as a fixed-width string whose byte order is
  // time order, so ORDER BY and `since` are index range scans. Indexes serve the default order and
  // the sender filter in that order.
  `CREATE TABLE messages (
     message_id  TEXT PRIMARY KEY,
     from_msisdn TEXT NOT NULL,
     to_msisdn   TEXT NOT NULL,
     ts          TEXT NOT NULL,
     text        TEXT,
     created_at  TEXT NOT NULL,
     ts_key      TEXT NOT NULL
   );
   CREATE INDEX messages_ts_key ON messages (ts_key, message_id);
   CREATE INDEX messages_from_ts_key ON messages (from_msisdn, ts_key, message_id);`
]

export const SCHEMA_VERSION = MIGRATIONS.length

export function schemaVersion (db: Database): number {
  return db.pragma('user_version', { simple: true }) as number
}

export function migrate (db: Database): void {
  const current = schemaVersion(db)
  if (current > SCHEMA_VERSION) {
    throw new Error(`database schema version ${current} is newer than this build understands (${SCHEMA_VERSION})`)
  }
  for (let version = current + 1; version <= SCHEMA_VERSION; version++) {
    db.transaction(() => {
      db.exec(MIGRATIONS[version - 1]!)
      db.pragma(`user_version = ${version}`)
    }).immediate()
  }
}

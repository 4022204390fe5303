import type { Database } from 'better-sqlite3'

/**
 * Numbered, append-only migrations. `PRAGMA user_version` records the last one applied; each runs in
 * its own transaction with its version bump, so a crash mid-migration leaves the previous version.
 * Never edit a shipped migration: add the next number.
 */
export const MIGRATIONS: readonly string[] = [
  // 1: the contract's table, plus `ts_key`, the instant as a fixed-width string whose byte order is
  // time order, so ORDER BY and `since` are index range scans. Only the indexes a delivery must pass
  // through before its 200 live here: the primary key (first write wins) and the time order, which
  // live traffic appends to at its right edge. Everything else a read needs is migration 2's.
  `CREATE TABLE messages (
     message_id  TEXT PRIMARY KEY,
     from_msisdn TEXT NOT NULL,
     to_msisdn   TEXT NOT NULL,
     ts          TEXT NOT NULL,
     text        TEXT,
     created_at  TEXT NOT NULL,
     ts_key      TEXT NOT NULL
   );
   CREATE INDEX messages_ts_key ON messages (ts_key, message_id);`,

  // 2: read models, maintained off the acknowledgement path by indexer.ts for every row up to
  // read_state.indexed_through (a messages rowid); rows after it are "the tail", which readers merge
  // in from messages itself, so answers stay exact while the indexer catches up.
  // - sender_rows: the sender filter in time order (what an index on messages(from_msisdn, ts_key)
  //   would be, but written in large deferred batches instead of one random page per delivery).
  // - sender_counts: exact per-sender counts, ordered for the top-10 without a GROUP BY.
  // - time_counts: row counts per day (level 0), minute (1) and second (2) of ts_key, so a `since`
  //   total sums at most a few thousand buckets plus one second's rows instead of counting the range.
  // - gram_counts: rows whose folded text contains each 1- and 2-character string (exact totals for
  //   short searches, which a trigram index cannot answer).
  // - search_index: FTS5 trigram index over the folded text (contentless: the text lives in messages).
  `CREATE TABLE read_state (
     id              INTEGER PRIMARY KEY CHECK (id = 1),
     indexed_through INTEGER NOT NULL,
     indexed_rows    INTEGER NOT NULL,
     senders         INTEGER NOT NULL
   );
   INSERT INTO read_state (id, indexed_through, indexed_rows, senders) VALUES (1, 0, 0, 0);
   CREATE TABLE sender_rows (
     from_msisdn TEXT NOT NULL,
     ts_key      TEXT NOT NULL,
     message_id  TEXT NOT NULL,
     row         INTEGER NOT NULL,
     PRIMARY KEY (from_msisdn, ts_key, message_id)
   ) WITHOUT ROWID;
   CREATE TABLE sender_counts (from_msisdn TEXT PRIMARY KEY, n INTEGER NOT NULL) WITHOUT ROWID;
   CREATE INDEX sender_counts_top ON sender_counts (n DESC, from_msisdn ASC);
   CREATE TABLE time_counts (
     level  INTEGER NOT NULL,
     bucket TEXT NOT NULL,
     n      INTEGER NOT NULL,
     PRIMARY KEY (level, bucket)
   ) WITHOUT ROWID;
   CREATE TABLE gram_counts (gram TEXT PRIMARY KEY, n INTEGER NOT NULL) WITHOUT ROWID;
   CREATE VIRTUAL TABLE search_index USING fts5 (folded, content = '', detail = full, tokenize = 'trigram case_sensitive 1');
   CREATE VIRTUAL TABLE search_terms USING fts5vocab (search_index, 'row');`
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

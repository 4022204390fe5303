import type { PoolClient } from 'pg'

/**
 * Numbered, append-only migrations, recorded in schema_migrations. Never edit a shipped one: add the
 * next number. Text columns that order or match byte for byte use COLLATE "C", so order is UTF-8 byte
 * order, as SQLite's BINARY collation (and the contract's "byte order").
 */
export const MIGRATIONS: readonly string[] = [
  // 1: the contract's table, plus
  // - ts_key: the instant as fixed-width text whose byte order is time order (lib/timestamp.ts);
  // - folded: foldCase(text), computed in JS at insert so `q` folds exactly as SQLite's engine does;
  //   a pg_trgm GIN index answers searches of 3+ characters;
  // - batch: the write_clock tick of the commit that stored the row. Every write takes the clock row
  //   first and holds its lock to COMMIT, so ticks are in commit order: a snapshot that sees tick c sees
  //   exactly the rows of ticks ≤ c. Counts cached at tick c are brought up to date by counting only
  //   rows with batch > c (postgres-store.ts, search counts), across every replica.
  // A btree entry holds at most ~2.7 kB, and the contract caps neither message_id nor from, so no index
  // holds them whole: uniqueness (the primary key's job, first write wins) is a unique index on their
  // SHA-256, and order indexes hold a 200-character prefix; statements order by (prefix, whole value),
  // which is the whole value's order, the prefix doing the work and the whole value breaking its rare ties.
  // Aggregates kept in the same commit as the rows, so totals and /stats read a few rows, never a count:
  // - totals: rows and distinct senders;
  // - sender_counts: per sender, with an index in top-10 order;
  // - time_counts: rows per day (level 0), minute (1) and second (2) of ts_key, so a `since` total sums
  //   at most a few thousand buckets plus one second's rows.
  `DO $$ BEGIN
     IF current_setting('server_encoding') <> 'UTF8' THEN
       RAISE EXCEPTION 'hookvault needs a database with UTF8 encoding, not %', current_setting('server_encoding');
     END IF;
   END $$;
   CREATE EXTENSION IF NOT EXISTS pg_trgm;
   -- IMMUTABLE holds: the database encoding (UTF8, checked above) never changes.
   CREATE FUNCTION hookvault_key (text) RETURNS bytea LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
     AS $$ SELECT sha256(convert_to($1, 'UTF8')) $$;
   CREATE TABLE messages (
     message_id  text COLLATE "C" NOT NULL,
     from_msisdn text COLLATE "C" NOT NULL,
     to_msisdn   text NOT NULL,
     ts          text NOT NULL,
     text        text,
     created_at  text NOT NULL,
     ts_key      text COLLATE "C" NOT NULL,
     folded      text COLLATE "C",
     batch       bigint NOT NULL
   );
   CREATE UNIQUE INDEX messages_id ON messages (hookvault_key(message_id));
   CREATE INDEX messages_order ON messages (ts_key, left(message_id, 200));
   CREATE INDEX messages_sender ON messages (left(from_msisdn, 200), ts_key, left(message_id, 200));
   CREATE INDEX messages_batch ON messages (batch);
   CREATE INDEX messages_folded ON messages USING gin (folded gin_trgm_ops);
   CREATE TABLE write_clock (
     id         integer PRIMARY KEY CHECK (id = 1),
     seq        bigint NOT NULL,
     deleted_at bigint NOT NULL
   );
   INSERT INTO write_clock (id, seq, deleted_at) VALUES (1, 0, 0);
   CREATE TABLE totals (
     id       integer PRIMARY KEY CHECK (id = 1),
     messages bigint NOT NULL,
     senders  bigint NOT NULL
   );
   INSERT INTO totals (id, messages, senders) VALUES (1, 0, 0);
   CREATE TABLE sender_counts (
     from_msisdn text COLLATE "C" NOT NULL,
     n           bigint NOT NULL
   );
   CREATE UNIQUE INDEX sender_counts_sender ON sender_counts (hookvault_key(from_msisdn));
   CREATE INDEX sender_counts_top ON sender_counts (n DESC, left(from_msisdn, 200));
   CREATE TABLE time_counts (
     level  smallint NOT NULL,
     bucket text COLLATE "C" NOT NULL,
     n      bigint NOT NULL,
     PRIMARY KEY (level, bucket)
   );
   CREATE TABLE readiness_probe (
     id     integer PRIMARY KEY,
     probed timestamptz NOT NULL
   );`
]

export const SCHEMA_VERSION = MIGRATIONS.length

/** Any constant shared by every hookvault process: the advisory lock that serializes migration runs. */
const MIGRATION_LOCK = 0x686f6f6b // "hook"

/**
 * Brings the schema to SCHEMA_VERSION in one transaction. A transaction-level advisory lock makes
 * replicas that start together take turns: the first migrates, the others then find the version
 * recorded and do nothing. DDL is transactional in PostgreSQL, so a crash leaves the previous version.
 * https://www.postgresql.org/docs/15/explicit-locking.html#ADVISORY-LOCKS
 */
export async function migrate (client: PoolClient): Promise<void> {
  await client.query('BEGIN')
  try {
    await client.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK])
    await client.query(`CREATE TABLE IF NOT EXISTS schema_migrations (
      version    integer PRIMARY KEY,
      applied_at timestamptz NOT NULL DEFAULT now()
    )`)
    const current = await appliedVersion(client)
    if (current > SCHEMA_VERSION) {
      throw new Error(`database schema version ${current} is newer than this build understands (${SCHEMA_VERSION})`)
    }
    for (let version = current + 1; version <= SCHEMA_VERSION; version++) {
      await client.query(MIGRATIONS[version - 1]!)
      await client.query('INSERT INTO schema_migrations (version) VALUES ($1)', [version])
    }
    await client.query('COMMIT')
  } catch (error) {
    await client.query('ROLLBACK').catch(() => {})
    throw error
  }
}

export async function appliedVersion (client: Pick<PoolClient, 'query'>): Promise<number> {
  const { rows } = await client.query<{ version: number | null }>('SELECT max(version) AS version FROM schema_migrations')
  return rows[0]?.version ?? 0
}

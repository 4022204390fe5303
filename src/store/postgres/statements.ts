import { instantKey } from '../../lib/timestamp.ts'
import type { ExportFilter, MessageFilter } from '../port.ts'
import { encodeText } from './text-codec.ts'

// Every statement of the PostgreSQL engine. Reads are built from a filter's shape (which filters are
// present), never from its values: values are always parameters, and each distinct text is one named
// statement (postgres-store.ts), prepared once per connection.

/**
 * One group-commit batch, one statement, one implicit transaction. The clock tick comes first: its row
 * lock orders every writer (and retention), so ticks follow commit order and writers never deadlock;
 * then the rows (first write wins: ON CONFLICT DO NOTHING waits for a concurrent insert of the same id,
 * in another replica too, and then skips), then the aggregates for exactly the rows inserted.
 * `xmax = 0` tells an upsert's insert from its update: the documented way to learn which happened.
 * https://www.postgresql.org/docs/15/sql-insert.html#SQL-ON-CONFLICT
 */
export const INSERT_BATCH = `WITH clock AS (
    UPDATE write_clock SET seq = seq + 1 WHERE id = 1 RETURNING seq
  ), ins AS (
    INSERT INTO messages (message_id, from_msisdn, to_msisdn, ts, text, created_at, ts_key, folded, batch)
    SELECT m.message_id, m.from_msisdn, m.to_msisdn, m.ts, m.text, $8, m.ts_key, m.folded, (SELECT seq FROM clock)
    FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[])
      AS m (message_id, from_msisdn, to_msisdn, ts, text, ts_key, folded)
    ON CONFLICT ((hookvault_key(message_id))) DO NOTHING
    RETURNING message_id, from_msisdn, ts_key
  ), senders AS (
    INSERT INTO sender_counts AS s (from_msisdn, n)
    SELECT from_msisdn, count(*) FROM ins GROUP BY from_msisdn
    ON CONFLICT ((hookvault_key(from_msisdn))) DO UPDATE SET n = s.n + excluded.n
    RETURNING (s.xmax = 0) AS added
  ), times AS (
    INSERT INTO time_counts AS t (level, bucket, n)
    SELECT l.level, left(ins.ts_key, l.width), count(*)
    FROM ins CROSS JOIN (VALUES (0::smallint, 10), (1::smallint, 16), (2::smallint, 19)) AS l (level, width)
    GROUP BY 1, 2
    ON CONFLICT (level, bucket) DO UPDATE SET n = t.n + excluded.n
  ), tally AS (
    UPDATE totals SET messages = messages + (SELECT count(*) FROM ins),
      senders = senders + (SELECT count(*) FROM senders WHERE added)
    WHERE id = 1
  )
  SELECT message_id FROM ins`

/**
 * Retention: the oldest rows before $1, at most $2 of them, with their aggregates, holding the clock and
 * marking it (deleted_at), so every process's cached search counts know to count again.
 */
export const DELETE_OLDER = `WITH clock AS (
    UPDATE write_clock SET seq = seq + 1, deleted_at = seq + 1 WHERE id = 1 RETURNING seq
  ), del AS (
    DELETE FROM messages WHERE ctid = ANY (ARRAY(
      SELECT ctid FROM messages
      WHERE ts_key < $1 AND (SELECT seq FROM clock) IS NOT NULL
      ORDER BY ts_key, left(message_id, 200), message_id LIMIT $2
    ))
    RETURNING from_msisdn, ts_key
  ), senders AS (
    UPDATE sender_counts s SET n = s.n - d.k
    FROM (SELECT from_msisdn, count(*) AS k FROM del GROUP BY from_msisdn) d
    WHERE hookvault_key(s.from_msisdn) = hookvault_key(d.from_msisdn)
  ), times AS (
    UPDATE time_counts t SET n = t.n - d.k
    FROM (
      SELECT l.level, left(del.ts_key, l.width) AS bucket, count(*) AS k
      FROM del CROSS JOIN (VALUES (0::smallint, 10), (1::smallint, 16), (2::smallint, 19)) AS l (level, width)
      GROUP BY 1, 2
    ) d
    WHERE t.level = d.level AND t.bucket = d.bucket
  ), tally AS (
    UPDATE totals SET messages = messages - (SELECT count(*) FROM del) WHERE id = 1
  )
  SELECT (SELECT count(*) FROM del) AS deleted, (SELECT array_agg(DISTINCT from_msisdn) FROM del) AS senders`

/** After DELETE_OLDER, in its transaction: senders left with no rows stop counting as senders. */
export const DROP_EMPTY_SENDERS = `WITH gone AS (
    DELETE FROM sender_counts WHERE hookvault_key(from_msisdn) IN (SELECT hookvault_key(f) FROM unnest($1::text[]) f) AND n <= 0 RETURNING 1
  )
  UPDATE totals SET senders = senders - (SELECT count(*) FROM gone) WHERE id = 1`

export const DROP_EMPTY_BUCKETS = 'DELETE FROM time_counts WHERE n <= 0'

/** /stats in one statement (one snapshot): every figure is a row read or an index edge. */
export const STATS = `SELECT t.messages, t.senders,
    (SELECT coalesce(json_agg(json_build_object('from', s.from_msisdn, 'count', s.n) ORDER BY s.n DESC, s.from_msisdn), '[]'::json)
      FROM (SELECT from_msisdn, n FROM sender_counts ORDER BY n DESC, left(from_msisdn, 200), from_msisdn LIMIT 10) s) AS top,
    (SELECT ts FROM messages ORDER BY ts_key, left(message_id, 200), message_id LIMIT 1) AS first,
    (SELECT ts FROM messages ORDER BY ts_key DESC, left(message_id, 200) DESC, message_id DESC LIMIT 1) AS last
  FROM totals t WHERE t.id = 1`

/**
 * Readiness: a real committed write (an upsert of this process's row), and what the session's
 * synchronous_commit and the recorded schema version are.
 */
export const PROBE_WRITE = `WITH w AS (
    INSERT INTO readiness_probe (id, probed) VALUES ($1, now())
    ON CONFLICT (id) DO UPDATE SET probed = excluded.probed
    RETURNING 1
  )
  SELECT current_setting('synchronous_commit') AS sync, (SELECT max(version) FROM schema_migrations) AS version FROM w`

const COLUMNS = 'message_id, from_msisdn AS "from", to_msisdn AS "to", ts, text, ts_key'
/** The contract's order; the 200-character prefix is what the indexes hold (migrations.ts). */
const ORDER = 'ORDER BY ts_key, left(message_id, 200), message_id'

/** `%q%` for LIKE, with LIKE's own metacharacters escaped: `q` is a literal substring. */
export function likePattern (q: string): string {
  return `%${q.replace(/[\\%_]/g, '\\$&')}%`
}

class Params {
  readonly values: unknown[] = []
  add (value: unknown): string {
    this.values.push(value)
    return `$${this.values.length}`
  }
}

export interface Statement {
  text: string
  values: unknown[]
}

interface SearchOptions {
  /** The folded, escaped query. */
  q: string
  /** Find candidates through the trigram index (rare words) rather than test rows in order (common ones). */
  useIndex: boolean
}

/** The WHERE terms every filter adds (keyset excluded): shared by a page and its total. */
function filterTerms (filter: ExportFilter, params: Params, search: SearchOptions | undefined): string[] {
  const terms: string[] = []
  if (filter.from !== undefined) {
    const from = encodeText(filter.from)
    // Below the prefix length, the prefix equal to `from` means the whole value is: the index alone answers.
    terms.push(short(from) ? `left(from_msisdn, 200) = ${params.add(from)}` : `left(from_msisdn, 200) = left(${params.add(from)}, 200) AND from_msisdn = $${params.values.length}`)
  }
  if (filter.since !== undefined) terms.push(`ts_key >= ${params.add(instantKey(filter.since))}`)
  if (search !== undefined) {
    terms.push(search.useIndex ? `folded LIKE ${params.add(likePattern(search.q))}` : `strpos(folded, ${params.add(search.q)}) > 0`)
  }
  return terms
}

/** Shorter than the indexes' prefix (200 characters, which left() counts in code points). */
const short = (s: string) => s.length < 200 || [...s].length < 200

const where = (terms: string[]) => terms.length === 0 ? '' : `WHERE ${terms.join(' AND ')}`

/** The page: one more row than the limit, so the caller knows whether a next page exists. */
function page (filter: MessageFilter, params: Params, search: SearchOptions | undefined): string {
  const terms = filterTerms(filter, params, search)
  if (filter.after !== undefined) {
    const id = encodeText(filter.after.messageId)
    const key = params.add(filter.after.tsKey)
    // As with `from`: below the prefix length, a row whose prefix equals the id is that row.
    terms.push(short(id)
      ? `(ts_key, left(message_id, 200)) > (${key}, ${params.add(id)})`
      : `(ts_key, left(message_id, 200), message_id) > (${key}, left(${params.add(id)}, 200), $${params.values.length})`)
  }
  const paging = `LIMIT ${params.add(filter.limit + 1)} OFFSET ${params.add(filter.offset)}`
  // OFFSET 0 keeps the planner from walking the order index and testing every row (a rare word): the
  // index's candidates are collected, then sorted.
  if (search?.useIndex === true) return `SELECT * FROM (SELECT ${COLUMNS} FROM messages ${where(terms)} OFFSET 0) m ${ORDER} ${paging}`
  return `SELECT ${COLUMNS} FROM messages ${where(terms)} ${ORDER} ${paging}`
}

/**
 * Rows with ts_key ≥ since: the day, minute and second buckets after since's second, plus the rows
 * inside since's own second from the order index. Inside a bucket the next character after the prefix
 * is '-', 'T', ':' or '.', all below '~'; '/' follows '.', so `< second || '/'` ends since's second.
 */
function countSince (since: string, params: Params): string {
  const key = instantKey(since)!
  const [day, minute, second] = [params.add(key.slice(0, 10)), params.add(key.slice(0, 16)), params.add(key.slice(0, 19))]
  return `((SELECT coalesce(sum(n), 0) FROM time_counts WHERE level = 0 AND bucket > ${day})
    + (SELECT coalesce(sum(n), 0) FROM time_counts WHERE level = 1 AND bucket > ${minute} AND bucket < ${day} || '~')
    + (SELECT coalesce(sum(n), 0) FROM time_counts WHERE level = 2 AND bucket > ${second} AND bucket < ${minute} || '~')
    + (SELECT count(*) FROM messages WHERE ts_key >= ${params.add(key)} AND ts_key < ${second} || '/'))::bigint`
}

/**
 * A page and its total in one statement (one snapshot), for filters whose total an aggregate holds:
 * none (totals), `from` alone (its sender count), `since` alone (the time buckets).
 */
export function listing (filter: MessageFilter): Statement {
  const params = new Params()
  let total: string
  if (filter.from !== undefined) total = `coalesce((SELECT n FROM sender_counts WHERE hookvault_key(from_msisdn) = hookvault_key(${params.add(encodeText(filter.from))})), 0)`
  else if (filter.since !== undefined) total = countSince(filter.since, params)
  else total = '(SELECT messages FROM totals WHERE id = 1)'
  const deep = filter.from === undefined && filter.since === undefined && filter.after === undefined && filter.offset >= DEEP_OFFSET
  const pageSql = deep ? seekPage(filter, params) : page(filter, params, undefined)
  return { text: `SELECT t.total, p.* FROM (SELECT ${total} AS total) t LEFT JOIN LATERAL (${pageSql}) p ON true`, values: params.values }
}

/** From this offset on, an unfiltered page seeks through the time buckets instead of stepping row by row. */
export const DEEP_OFFSET = 1000

/**
 * A deep OFFSET without filters, as a seek: the day, then minute, then second bucket where row number
 * `offset` lies (each the last whose running count of earlier rows is ≤ offset), so the page starts at
 * that second and skips only rows inside it. One statement: the counts and the rows share a snapshot.
 * Every key of a day starts with its bucket then 'T', of a minute then ':', of a second then '.', all
 * below '~', so `bucket || '~'` bounds a bucket's children.
 */
function seekPage (filter: MessageFilter, params: Params): string {
  const offset = params.add(filter.offset)
  const level = (n: number, parent: string | null) => `SELECT t.bucket, ${parent === null ? '0' : `${parent}.before`} + sum(t.n) OVER (ORDER BY t.bucket) - t.n AS before
      FROM time_counts t${parent === null ? '' : `, ${parent}`}
      WHERE t.level = ${n}${parent === null ? '' : ` AND t.bucket > ${parent}.bucket AND t.bucket < ${parent}.bucket || '~'`}`
  const pick = (name: string) => `(SELECT bucket, before FROM ${name} WHERE before <= ${offset} ORDER BY bucket DESC LIMIT 1)`
  return `WITH days AS (${level(0, null)}), d AS ${pick('days')},
      minutes AS (${level(1, 'd')}), m AS ${pick('minutes')},
      seconds AS (${level(2, 'm')}), s AS ${pick('seconds')}
    SELECT ${COLUMNS} FROM messages WHERE ts_key >= (SELECT bucket FROM s) ${ORDER}
    LIMIT ${params.add(filter.limit + 1)} OFFSET ${offset} - (SELECT before FROM s)`
}

/**
 * A page, the rows matching its filters committed after a cached count's tick `through` (-1: all of
 * them), and the clock, all from one snapshot (postgres-store.ts adds the delta to the cached count).
 */
export function countedListing (filter: MessageFilter, search: SearchOptions | undefined, through: number): Statement {
  const params = new Params()
  const terms = [`batch > ${params.add(through)}`, ...filterTerms(filter, params, search)]
  const delta = `(SELECT count(*) FROM messages ${where(terms)})`
  const pageSql = page(filter, params, search)
  return {
    text: `SELECT t.delta, t.clock, t.deleted_at, p.* FROM (SELECT ${delta} AS delta, c.seq AS clock, c.deleted_at FROM write_clock c WHERE c.id = 1) t
      LEFT JOIN LATERAL (${pageSql}) p ON true`,
    values: params.values
  }
}

/**
 * Counts a search's rows with the clock tick it is exact for (same snapshot). The trigram index serves
 * 3+ characters (LIKE); shorter queries are tested row by row.
 */
export function countSearch (q: string): Statement {
  const params = new Params()
  const test = [...q].length >= 3 ? `folded LIKE ${params.add(likePattern(q))}` : `strpos(folded, ${params.add(q)}) > 0`
  return {
    text: `SELECT (SELECT count(*) FROM messages WHERE ${test}) AS n, c.seq AS clock, (SELECT messages FROM totals WHERE id = 1) AS rows
      FROM write_clock c WHERE c.id = 1`,
    values: params.values
  }
}

/** Every row matching the filters, in order, no paging: exports, and searches checked in JS. */
export function candidates (filter: ExportFilter, q: string | undefined, useIndex = false): Statement {
  const params = new Params()
  const terms = filterTerms(filter, params, q === undefined ? undefined : { q, useIndex })
  return { text: `SELECT ${COLUMNS} FROM messages ${where(terms)} ${ORDER}`, values: params.values }
}

import type Database from 'better-sqlite3'
import type { Statement } from 'better-sqlite3'
import type { Message } from '../../../schemas/messages.ts'
import type { SenderCount, Stats } from '../../../schemas/stats.ts'
import { foldCase } from '../fold-case.ts'
import { lowerBound } from '../../lib/lower-bound.ts'
import { instantKey } from '../../lib/timestamp.ts'
import type { MessageFilter, MessagesListing, PagePosition } from '../port.ts'
import { candidatesCheaper } from '../search-plan.ts'
import type { ReadState } from './indexer.ts'
import type { Params, Scanner } from './scanner.ts'
import { matchesAfterHour, SearchHours, type HourCounts, type HoursUpdate } from './search-hours.ts'
import { codePoints, hasLoneSurrogate, isIndexable, phrase, prefixUpperBound } from './search-text.ts'
import { statementCache } from './statement-cache.ts'
import type { TailTally } from './tail-tally.ts'

/** From this offset on, an unfiltered page seeks through the time buckets instead of stepping row by row. */
const DEEP_OFFSET = 1000
/** …unless more rows than this wait to be indexed (their keys are read to count them in). */
const SEEK_TAIL_MAX = 20_000
/** Most searches whose folded-count answers are cached (least recently used first out). */
const SEARCH_COUNT_CACHE = 512
/** Short (1–2 character) searches use the index's vocabulary only when this rare; commoner ones scan. */
const SHORT_CANDIDATES_MAX = 20_000
/** A common search with `since` reads its page here when an ordered scan should find it within this many rows; else on the scan thread. */
const SCAN_HERE_ROWS = 20_000
/** Hour counts brought up to date by at most this many rows are read here; more, on the scan thread. */
const HOURS_HERE_ROWS = 1000

interface PlanBase {
  /** SQL for the page (one more row than the limit, to know whether a next page exists). */
  page: string
  params: Params
  /** Rows to skip in `page`, when the plan already skipped some of `offset` another way. */
  skip?: number
}

type Plan = PlanBase & (
  /** SQL for the total, or a number already known. */
  | { total: string | number, scan?: undefined }
  /** Page and total (unless known) read only `messages` and test rows one by one (a scan): see list(). */
  | { total: string | number, scan: true }
)

/** Before it can be planned, a common search with `since` needs its hour counts brought up to date. */
interface NeedsHours { update: HoursUpdate }

/** A row of a page query: the message, and its instant key when the query selected it. */
type PageRow = Message & { ts_key?: string }

interface SearchCount { through: number, n: number }

/** The watermark and the rows past it, as one moment's reads see them. */
export interface ReadSource {
  readonly state: Readonly<ReadState>
  readonly tail: TailTally
}

/** What every plan shape starts from: the filter's conditions as SQL fragments over `messages m`. */
interface PlanShape {
  filter: MessageFilter
  /** The indexer's watermark: rows above it are the tail. */
  w: number
  params: Params
  /** `since`, when given. */
  where: string[]
  /** The keyset cursor's position, when given. */
  keyset: string[]
  /** The folded search text, when given. */
  q: string | undefined
  /** The search's row test, when given. */
  textTest: string[]
  /** False when the caller needs no total (an export's pages). */
  counting: boolean
  /** Runs a count query, or answers 0 when not counting. */
  count: (sql: string, params: Params) => number
}

const and = (...parts: string[][]) => parts.flat().map((p) => ` AND ${p}`).join('')
const whereAll = (...parts: string[][]) => {
  const all = parts.flat()
  return all.length === 0 ? '' : `WHERE ${all.join(' AND ')}`
}

const ARM_COLUMNS = 'm.message_id, m.from_msisdn AS "from", m.to_msisdn AS "to", m.ts, m.text, m.ts_key'
/** The sender arm takes the order columns from sender_rows, so SQLite sees that its key already gives the order. */
const SENDER_COLUMNS = 's.message_id, m.from_msisdn AS "from", m.to_msisdn AS "to", m.ts, m.text, s.ts_key'
/**
 * The tail is a rowid range of messages. NOT INDEXED keeps the planner from walking the whole time
 * index in order instead (it would, to skip a sort); the rowid range stays available.
 * https://www.sqlite.org/lang_indexedby.html
 */
const TAIL = 'messages m NOT INDEXED'
const ORDER = 'ORDER BY ts_key, message_id LIMIT @limit OFFSET @offset'

/**
 * Answers list and stats from messages plus the read models, merging the rows the indexer has not
 * reached yet (rowid > watermark, "the tail"), so every answer is exact at every moment: counts and
 * a sender's rows from the tail tally (tail-tally.ts), everything else straight from messages. All reads run synchronously on the one connection, between commits, so the watermark
 * and the tables they read always agree; the exception, scans (see list()), read `messages` alone.
 */
export class ReadModel {
  readonly #prepare: (sql: string) => Statement
  readonly #indexer: ReadSource
  readonly #searchCounts = new Map<string, SearchCount>()
  readonly #searchHours = new SearchHours()
  /** Hour-count updates on the scan thread, one per search at a time. */
  readonly #hoursPending = new Map<string, Promise<void>>()

  /** `indexer` tells where the watermark is and what lies past it: the Indexer itself, or an export's snapshot. */
  constructor (db: Database.Database, indexer: ReadSource) {
    this.#prepare = statementCache(db)
    this.#indexer = indexer
  }

  #count (sql: string, params: Params): number {
    return this.#prepare(sql).pluck().get(params) as number
  }

  /**
   * One page for `filter`, answered here, at once. Except a scan, when a `scanner` is given: a search the
   * trigram index cannot answer, or a common one combined with `since`, whose exact total tests every row
   * since that instant. A scan reads only `messages` (no watermark, no read model), so the scanner's own
   * connection can run it off the event loop (scanner.ts), and the answer comes as a promise.
   */
  list (filter: MessageFilter, scanner: Scanner | null = null): MessagesListing | Promise<MessagesListing> {
    const { indexedThrough } = this.#indexer.state
    const plan = this.#plan(filter, indexedThrough)
    if ('update' in plan) {
      const updated = this.#updateHours(plan.update, scanner)
      return updated === undefined ? this.list(filter, scanner) : updated.then(() => this.list(filter, scanner))
    }
    const params: Params = { ...plan.params, limit: filter.limit + 1, offset: plan.skip ?? filter.offset }
    if (scanner !== null && plan.scan === true) {
      const known = typeof plan.total === 'number' ? plan.total : null
      return scanner.run({ page: plan.page, ...(known === null ? { total: plan.total as string } : {}), params })
        .then(({ rows, total }) => this.#listing(filter, rows as PageRow[], known ?? total!))
    }
    const rows = this.#prepare(plan.page).all(params) as PageRow[]
    const total = typeof plan.total === 'number' ? plan.total : this.#count(plan.total, plan.params)
    return this.#listing(filter, rows, total)
  }

  /**
   * The rows of one page and where the next starts, without counting the total: an export walks a
   * snapshot page by page (keyset), and only a listing needs the count. Always answered here, a scan too.
   */
  rows (filter: MessageFilter): { data: Message[], next: PagePosition | null } {
    const plan = this.#plan(filter, this.#indexer.state.indexedThrough, false)
    if ('update' in plan) throw new TypeError('a page without its total needs no hour counts')
    const params: Params = { ...plan.params, limit: filter.limit + 1, offset: plan.skip ?? filter.offset }
    const { data, next } = this.#listing(filter, this.#prepare(plan.page).all(params) as PageRow[], 0)
    return { data, next: next ?? null }
  }

  /** Forgets the cached search counts: they only hold while rows are never removed (deleter.ts removes some). */
  forgetCounts (): void {
    this.#searchCounts.clear()
    this.#searchHours.forget()
  }

  /**
   * Reads what brings a search's hour counts up to date: here when it is a few rows (or there is no scan
   * thread), else on the scan thread, one read per search at a time (another request for it waits for
   * the same read). Returns the read's promise, or undefined when it was done here.
   */
  #updateHours (update: HoursUpdate, scanner: Scanner | null): Promise<void> | undefined {
    const q = update.params.q as string
    const pending = this.#hoursPending.get(q)
    if (pending !== undefined) return pending
    if (scanner === null || update.rows <= HOURS_HERE_ROWS) {
      this.#searchHours.apply(update, this.#prepare(update.sql).all(update.params) as Array<{ hour: string, n: number }>)
      return undefined
    }
    const read = scanner.run({ page: update.sql, params: update.params })
      .then(({ rows }) => this.#searchHours.apply(update, rows as Array<{ hour: string, n: number }>))
      .finally(() => this.#hoursPending.delete(q))
    this.#hoursPending.set(q, read)
    return read
  }

  /** The listing for `filter` from its page query's rows (one more than the limit, when there are more) and its total. */
  #listing (filter: MessageFilter, rows: PageRow[], total: number): MessagesListing {
    const more = rows.length > filter.limit
    if (more) rows.pop()
    const data: Message[] = rows.map((r) => ({ message_id: r.message_id, from: r.from, to: r.to, ts: r.ts, text: r.text }))
    const last = data[data.length - 1]
    return {
      data,
      total,
      limit: filter.limit,
      offset: filter.offset,
      next: more && last !== undefined ? { tsKey: instantKey(last.ts)!, messageId: last.message_id } : null
    }
  }

  /**
   * The page and total queries for `filter`, by its shape: a sender, a search, or time order alone. With
   * `counting` false (an export's pages), totals known only by counting are left at 0, uncounted.
   */
  #plan (filter: MessageFilter, w: number, counting = true): Plan | NeedsHours {
    const params: Params = { w }
    const count = (sql: string, p: Params) => counting ? this.#count(sql, p) : 0
    const where: string[] = []
    if (filter.since !== undefined) {
      params.since = instantKey(filter.since)!
      where.push('m.ts_key >= @since')
    }
    const keyset: string[] = []
    if (filter.after !== undefined) {
      params.afterKey = filter.after.tsKey
      params.afterId = filter.after.messageId
      keyset.push('(m.ts_key, m.message_id) > (@afterKey, @afterId)')
    }
    const q = filter.q === undefined || filter.q === '' ? undefined : foldCase(filter.q)
    const textTest: string[] = []
    if (q !== undefined && hasLoneSurrogate(q)) {
      // No stored text holds a lone surrogate (SQLite keeps UTF-8), so such a q matches nothing. Bound
      // as a parameter it would not say so on every Node: Node 24's V8 binds it as U+FFFD (matching
      // texts that have one), Node 20's as CESU-8 bytes (matching none).
      textTest.push('0')
    } else if (q !== undefined) {
      params.q = q
      textTest.push('instr(fold_case(m.text), @q) > 0')
    }
    const shape: PlanShape = { filter, w, params, where, keyset, q, textTest, counting, count }
    if (filter.from !== undefined) return this.#senderPlan(shape, filter.from)
    if (q === undefined) return this.#timePlan(shape)
    return this.#searchPlan(shape, q)
  }

  /**
   * A sender's indexed rows in order from sender_rows, merged with its rows in the tail, which the tail
   * tally names by rowid: only those that can reach this page, or all of them when a search may drop some.
   */
  #senderPlan ({ filter, params, where, keyset, q, textTest, count }: PlanShape, from: string): Plan {
    params.from = from
    const tail = this.#indexer.tail
    const since = params.since as string | undefined
    const senderWhere = ['s.from_msisdn = @from']
    if (since !== undefined) senderWhere.push('s.ts_key >= @since')
    const senderKeyset = filter.after === undefined ? [] : ['(s.ts_key, s.message_id) > (@afterKey, @afterId)']
    const indexedArm = (withKeyset: boolean) => `SELECT ${SENDER_COLUMNS} FROM sender_rows s JOIN messages m ON m.rowid = s.row
        WHERE ${[...senderWhere, ...(withKeyset ? senderKeyset : []), ...textTest].join(' AND ')}`
    const tailArm = (rowsParam: string, conditions: string[]) => `SELECT ${ARM_COLUMNS} FROM messages m
        WHERE m.rowid IN (SELECT value FROM json_each(@${rowsParam}))${and(conditions)}`

    // No page row has a key below since's or the cursor's.
    const low = [since ?? '', filter.after?.tsKey ?? ''].reduce((a, b) => a > b ? a : b)
    const pageTail = tail.senderRows(from, low, q === undefined ? filter.offset + filter.limit + 1 : undefined)
    let page = `SELECT * FROM (${indexedArm(true)}) ${ORDER}`
    if (pageTail.length > 0) {
      params.pageTail = JSON.stringify(pageTail)
      page = `SELECT * FROM (${indexedArm(true)} UNION ALL ${tailArm('pageTail', [...where, ...keyset, ...textTest])}) ${ORDER}`
    }

    if (q === undefined) {
      // sender_counts, or without it sender_rows' own key range, counts the indexed rows: no row lookups.
      const indexedTotal = since === undefined
        ? 'SELECT coalesce((SELECT n FROM sender_counts WHERE from_msisdn = @from), 0)'
        : `SELECT count(*) FROM sender_rows s WHERE ${senderWhere.join(' AND ')}`
      return { page, total: count(indexedTotal, params) + tail.senderCount(from, since), params }
    }
    params.allTail = JSON.stringify(tail.senderRows(from, since ?? ''))
    const total = `SELECT (SELECT count(*) FROM (${indexedArm(false)})) + (SELECT count(*) FROM (${tailArm('allTail', textTest)}))`
    return { page, total, params }
  }

  /** No sender, no search: the time index gives the order; totals come from the counts. */
  #timePlan ({ filter, w, params, where, keyset, counting }: PlanShape): Plan {
    const scanPage = `SELECT ${ARM_COLUMNS} FROM messages m ${whereAll(where, keyset)} ${ORDER}`
    if (filter.since !== undefined) return { page: scanPage, total: counting ? this.#countSince(params.since as string) : 0, params }
    const total = this.#indexer.state.indexedRows + this.#indexer.tail.rows
    const seek = filter.after === undefined && filter.offset >= DEEP_OFFSET ? this.#seekOffset(filter.offset, w) : null
    if (seek === null) return { page: scanPage, total, params }
    params.seekKey = seek.key
    const page = `SELECT ${ARM_COLUMNS} FROM messages m WHERE m.ts_key >= @seekKey ${ORDER}`
    return { page, total, params, skip: seek.skip }
  }

  /**
   * A search: the trigram index's candidates (or, for 1–2 characters, its vocabulary) when they are few
   * enough to beat an ordered scan that tests each row, merged with the tail's matches; else a scan.
   */
  #searchPlan ({ filter, w, params, where, keyset, textTest, counting, count }: PlanShape, q: string): Plan | NeedsHours {
    const scanPage = `SELECT ${ARM_COLUMNS} FROM messages m ${whereAll(where, keyset, textTest)} ${ORDER}`
    const scanTotal = `SELECT count(*) FROM messages m ${whereAll(where, textTest)}`
    if (!isIndexable(q)) return { page: scanPage, total: scanTotal, params, scan: true }
    const short = codePoints(q) <= 2
    const indexedMatches = short ? this.#gramCount(q) : this.#searchCount(q, w)
    const useIndex = candidatesCheaper(indexedMatches, this.#indexer.state.indexedRows, filter.offset + filter.limit + 1) &&
      (!short || indexedMatches <= SHORT_CANDIDATES_MAX)
    const tailMatches = `SELECT ${ARM_COLUMNS} FROM ${TAIL} WHERE m.rowid > @w${and(where, keyset, textTest)}`
    const tailCount = `SELECT count(*) FROM ${TAIL} WHERE m.rowid > @w` + and(where, textTest)
    if (!useIndex && filter.since !== undefined) {
      if (!counting) return { page: scanPage, total: 0, params }
      const since = params.since as string
      const hours = this.#searchHours.get(q, since, w, this.#indexer.state.indexedRows)
      if (!('hours' in hours)) return { update: hours }
      const total = this.#indexedSince(hours, since, textTest, params) + count(tailCount, params)
      // Read here when an ordered scan from since meets the page soon, as the matches' share of the rows
      // since then says; else (a search common overall but rare lately) on the scan thread.
      const scanRows = (filter.offset + filter.limit + 1) * this.#countSince(since) / Math.max(total, 1)
      return scanRows <= SCAN_HERE_ROWS ? { page: scanPage, total, params } : { page: scanPage, total, params, scan: true }
    }
    if (!useIndex) return { page: scanPage, total: indexedMatches + count(tailCount, params), params }

    const match = short ? this.#prefixMatch(q) : phrase(q)
    if (match === null) {
      // No indexed text contains it: only tail rows can match.
      return { page: `SELECT * FROM (${tailMatches}) ${ORDER}`, total: count(tailCount, params), params }
    }
    params.match = match
    const candidates = 'm.rowid IN (SELECT rowid FROM search_index WHERE search_index MATCH @match)'
    const page = `SELECT * FROM (SELECT ${ARM_COLUMNS} FROM messages m WHERE ${candidates}${and(where, keyset)}
      UNION ALL ${tailMatches}) ${ORDER}`
    if (filter.since === undefined) return { page, total: indexedMatches + count(tailCount, params), params }
    const total = `SELECT (SELECT count(*) FROM messages m WHERE ${candidates}${and(where)}) + (${tailCount})`
    return { page, total, params }
  }

  /**
   * A deep OFFSET without filters, as a seek: walks the day, minute and second counts to the second
   * where row number `offset` lies, so the page starts there and skips only the rows of that second.
   * Tail rows are not in the counts, so their keys are counted in; a long tail falls back (null).
   */
  #seekOffset (offset: number, w: number): { key: string, skip: number } | null {
    if (this.#indexer.tail.rows > SEEK_TAIL_MAX) return null
    const tail = this.#prepare(`SELECT m.ts_key FROM ${TAIL} WHERE m.rowid > @w ORDER BY 1`).pluck().all({ w }) as string[]
    /** Tail keys below `key`. */
    const tailBelow = (key: string) => lowerBound(tail, key)
    const buckets = this.#prepare(`SELECT bucket, n FROM time_counts
      WHERE level = @level AND bucket > @after AND bucket < @before ORDER BY bucket`)
    // Every key of a day starts with its bucket then 'T', of a minute then ':', of a second then '.';
    // so `bucket + end` is above all of them: '~' for days and minutes, '/' for seconds.
    // Invariant: exactly `indexedBefore` indexed rows have a key below `low`.
    let low = ''
    let indexedBefore = 0
    const seek = () => ({ key: low, skip: offset - indexedBefore - tailBelow(low) })
    for (const [level, end] of [[0, '~'], [1, '~'], [2, '/']] as const) {
      const rows = buckets.all({ level, after: low, before: low === '' ? '~' : low + '~' }) as Array<{ bucket: string, n: number }>
      const found = rows.find((b) => {
        if (indexedBefore + b.n + tailBelow(b.bucket + end) > offset) return true
        indexedBefore += b.n
        low = b.bucket + end
        return false
      })
      // The row lies in tail rows after the last bucket, or between buckets: the rest is a short OFFSET.
      if (found === undefined || indexedBefore + tailBelow(found.bucket) > offset) return seek()
      low = found.bucket
    }
    return seek()
  }

  /**
   * Indexed matches from `since` on: the hours after since's, plus since's own hour counted exactly, on
   * the side of `since` likelier to hold fewer rows (before it, taken from the hour's count, or from it on).
   */
  #indexedSince (counts: HourCounts, since: string, textTest: string[], params: Params): number {
    const hour = since.slice(0, 13)
    const after = matchesAfterHour(counts, hour)
    const own = counts.hours.get(hour) ?? 0
    if (own === 0) return after
    // Inside an hour, the character after its 13 is ':', and ';' follows ':'.
    const inHour = (range: string) => this.#count(`SELECT count(*) FROM messages m INDEXED BY messages_ts_key
      WHERE ${range} AND m.rowid <= @w${and(textTest)}`, { ...params, hour, hourEnd: hour + ';' })
    return since.slice(14, 16) < '30'
      ? after + own - inHour('m.ts_key > @hour AND m.ts_key < @since')
      : after + inHour('m.ts_key >= @since AND m.ts_key < @hourEnd')
  }

  /** Indexed rows whose folded text contains a 1- or 2-character string (kept exact by the indexer). */
  #gramCount (gram: string): number {
    return (this.#prepare('SELECT n FROM gram_counts WHERE gram = ?').pluck().get(gram) as number | undefined) ?? 0
  }

  /**
   * Indexed rows matching a 3+ character phrase. A common word can match most of a million rows, and
   * counting its doclist costs tens of milliseconds, so counts are cached per query and brought up to
   * date by counting only the rows indexed since (a rowid range the index seeks to).
   */
  #searchCount (q: string, w: number): number {
    const match = phrase(q)
    let cached = this.#searchCounts.get(q)
    if (cached === undefined) {
      cached = { through: w, n: this.#count('SELECT count(*) FROM search_index WHERE search_index MATCH @match AND rowid <= @w', { match, w }) }
    } else if (cached.through !== w) {
      const delta = this.#count(`SELECT count(*) FROM search_index WHERE search_index MATCH @match
        AND rowid > @from AND rowid <= @w`, { match, from: cached.through, w })
      cached = { through: w, n: cached.n + delta }
    }
    this.#searchCounts.delete(q)
    this.#searchCounts.set(q, cached)
    if (this.#searchCounts.size > SEARCH_COUNT_CACHE) this.#searchCounts.delete(this.#searchCounts.keys().next().value!)
    return cached.n
  }

  /** The index terms (trigrams) that start with a 1- or 2-character string, as one OR query; null when none. */
  #prefixMatch (prefix: string): string | null {
    const terms = this.#prepare('SELECT term FROM search_terms WHERE term >= @prefix AND term <= @upper').pluck()
      .all({ prefix, upper: prefixUpperBound(prefix) }) as string[]
    return terms.length === 0 ? null : terms.map(phrase).join(' OR ')
  }

  /**
   * Rows with ts_key ≥ since: indexed rows from the day, minute and second buckets after since's second,
   * every row inside since's own second from the time index, and tail rows after that second.
   */
  #countSince (since: string): number {
    const [day, minute, second] = [since.slice(0, 10), since.slice(0, 16), since.slice(0, 19)]
    // Inside a bucket, the next character after the prefix is '-', 'T', ':' or '.', all below '~',
    // and '/' is the character after '.', so `< second || '/'` ends since's second.
    return this.#count(`SELECT
        (SELECT total(n) FROM time_counts WHERE level = 0 AND bucket > @day)
      + (SELECT total(n) FROM time_counts WHERE level = 1 AND bucket > @minute AND bucket < @day || '~')
      + (SELECT total(n) FROM time_counts WHERE level = 2 AND bucket > @second AND bucket < @minute || '~')
      + (SELECT count(*) FROM messages WHERE ts_key >= @since AND ts_key < @second || '/')`,
    { day, minute, second, since }) + this.#indexer.tail.rowsAfterSecond(second)
  }

  stats (): Stats {
    const { indexedRows, senders } = this.#indexer.state
    const tail = this.#indexer.tail
    const tailCounts = new Map(tail.senderCounts())
    // The indexed counts of the senders the tail touches, in one statement; those without one are new.
    const bases = this.#prepare('SELECT from_msisdn, n FROM sender_counts WHERE from_msisdn IN (SELECT value FROM json_each(?))')
      .raw().all(JSON.stringify([...tailCounts.keys()])) as Array<[string, number]>
    const counts = new Map(tailCounts)
    for (const [from, n] of bases) counts.set(from, n + tailCounts.get(from)!)
    const newSenders = tailCounts.size - bases.length
    // The tail only adds to the indexed counts (deletions change sender_counts itself, deleter.ts), so a
    // sender the tail does not touch keeps everyone ranked above it in the indexed order: if it makes
    // the final top 10, it was in the indexed top 10 already.
    const top = this.#prepare('SELECT from_msisdn AS "from", n AS count FROM sender_counts ORDER BY n DESC, from_msisdn ASC LIMIT 10')
      .all() as SenderCount[]
    for (const s of top) if (!counts.has(s.from)) counts.set(s.from, s.count)
    const messagesPerSender = [...counts].map(([from, count]) => ({ from, count }))
      .sort((a, b) => b.count - a.count || (a.from < b.from ? -1 : a.from > b.from ? 1 : 0))
      .slice(0, 10)
    const edge = (direction: 'ASC' | 'DESC') => (this.#prepare(
      `SELECT ts FROM messages ORDER BY ts_key ${direction}, message_id ${direction} LIMIT 1`).pluck().get() as string | undefined) ?? null
    return {
      total_messages: indexedRows + tail.rows,
      senders_count: senders + newSenders,
      messages_per_sender: messagesPerSender,
      first_message_ts: edge('ASC'),
      last_message_ts: edge('DESC')
    }
  }
}

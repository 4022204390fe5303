import type { ReadinessChecks } from '../../schemas/health.ts'
import type { Message, MessagesPage, MessagesQuery } from '../../schemas/messages.ts'
import type { Stats } from '../../schemas/stats.ts'

/** `created` for a new message_id, `duplicate` when it was already stored (and nothing changed). */
export type SaveOutcome = 'created' | 'duplicate'

/** A position in the contract's order (ts instant, then message_id): the last row a page returned. */
export interface PagePosition {
  /** The instant key of `ts` (lib/timestamp.ts instantKey). */
  tsKey: string
  messageId: string
}

/**
 * Filters as the routes hand them over: `from` already repaired, `q` empty means no filter, and
 * `after` (keyset paging) keeps only rows after that position; `offset` then counts from there.
 */
export interface MessageFilter extends Omit<MessagesQuery, 'after'> {
  after?: PagePosition
}

/** Filters an export takes: a listing's, without paging. */
export type ExportFilter = Pick<MessageFilter, 'from' | 'since' | 'q'>

/** One page, plus where the next one starts (absent or null when this page reached the last matching row). */
export interface MessagesListing extends MessagesPage {
  next?: PagePosition | null
}

/** Readiness as far as storage can tell; the server adds its own shutdown check. */
export type StorageChecks = Omit<ReadinessChecks, 'shutdown'>

/**
 * The storage port. Routes speak only to this, so an engine with asynchronous I/O (PostgreSQL)
 * can replace SQLite without a route changing. Every method may reject with StoreUnavailableError.
 */
export interface MessageStore {
  /** Resolves only once the message is committed durably (first write wins). */
  save (message: Message): Promise<SaveOutcome>
  /**
   * One delivery of several messages (a provider's batch) in one commit: all of them or none. Outcomes
   * come in the order given; an id repeated within the batch is `duplicate` after its first.
   */
  saveAll (messages: readonly Message[]): Promise<SaveOutcome[]>
  list (filter: MessageFilter): Promise<MessagesListing>
  stats (): Promise<Stats>
  /**
   * Every message matching the filter, in the contract's order, from one snapshot taken when the
   * iteration starts (rows committed later are not in it), as arrays of rows so the caller can honour
   * backpressure between them. Ending the iteration early releases the snapshot.
   */
  exportMessages (filter: ExportFilter): AsyncIterable<Message[]>
  /** Deletes up to `limit` messages whose ts instant is before `before` (an instantKey), keeping every read exact; resolves to how many. */
  deleteOlderThan (before: string, limit: number): Promise<number>
  checks (): Promise<StorageChecks>
  /** Commits what is pending, then releases the database. Safe to call twice. */
  close (): Promise<void>
}

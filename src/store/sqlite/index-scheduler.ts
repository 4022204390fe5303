import type { Indexer } from './indexer.ts'

/** When the deferred indexer (indexer.ts) runs. The defaults are what bench/ measured best; tests turn `auto` off. */
export interface IndexingOptions {
  /** false: only catchUp() indexes, so tests can hold rows in the tail. */
  auto?: boolean
  /** Quiet time after the last commit before the indexer starts catching up. */
  idleMs?: number
  /** Tail length (rows not yet indexed) past which the indexer runs even while deliveries keep coming. */
  maxTail?: number
  /** Rows per indexer transaction: one event-loop block of roughly sliceRows × 15 µs. */
  sliceRows?: number
}

export const INDEXING_DEFAULTS: Required<IndexingOptions> = { auto: true, idleMs: 25, maxTail: 50_000, sliceRows: 400 }

/** After a failed indexer transaction (disk full, lock), wait this long before trying again. */
const INDEXER_RETRY_MS = 1000

/**
 * Decides when the indexer takes its next slice: once deliveries have paused for idleMs, or at once
 * when the backlog passed maxTail, one slice per turn of the event loop so deliveries go first.
 */
export class IndexScheduler {
  readonly #indexer: Indexer
  readonly #options: Required<IndexingOptions>
  /** Rows committed but not yet indexed, as the store counts them. */
  readonly #backlog: () => number
  /** Called after each slice that committed (the checkpoint thread copies what it wrote). */
  readonly #afterSlice: () => void
  #lastCommitAt = 0
  #lastSubmitAt = 0
  #timer: NodeJS.Timeout | null = null
  #immediate: NodeJS.Immediate | null = null
  #stopped = false

  constructor (indexer: Indexer, options: IndexingOptions, backlog: () => number, afterSlice: () => void) {
    this.#indexer = indexer
    this.#options = { ...INDEXING_DEFAULTS, ...options }
    this.#backlog = backlog
    this.#afterSlice = afterSlice
  }

  /** A delivery was handed to the group commit: indexing keeps waiting while they come. */
  submitted (): void {
    this.#lastSubmitAt = performance.now()
  }

  /** A batch committed: its rows joined the backlog. */
  committed (): void {
    this.#lastCommitAt = performance.now()
    this.schedule()
  }

  /** Arms the next slice when there is a backlog and none is armed. */
  schedule (): void {
    if (!this.#options.auto || this.#stopped || this.#timer !== null || this.#immediate !== null) return
    const backlog = this.#backlog()
    if (backlog <= 0) return
    this.#arm(backlog > this.#options.maxTail ? 0 : this.#options.idleMs)
  }

  /** Indexes the backlog now, all of it or its oldest `maxRows` rows (seeding, tests); reads are exact either way. */
  catchUp (maxRows = Infinity): void {
    let left = maxRows
    while (left > 0) {
      const done = this.#indexer.step(Math.min(left, this.#options.sliceRows * 10))
      if (done === 0) break
      left -= done
    }
  }

  stop (): void {
    this.#stopped = true
    if (this.#timer !== null) clearTimeout(this.#timer)
    if (this.#immediate !== null) clearImmediate(this.#immediate)
  }

  #arm (delayMs: number): void {
    this.#timer = setTimeout(() => this.#maybeIndex(), delayMs)
    // Indexing never keeps the process alive: the backlog is picked up again at the next start.
    this.#timer.unref()
  }

  /**
   * Runs one indexer transaction once deliveries have paused for idleMs (or the backlog passed
   * maxTail), then comes back after a turn of the event loop, so deliveries arriving meanwhile go first.
   * A timer firing late (the process was not scheduled) looks like a pause, so a pause is confirmed
   * after the poll phase: if deliveries were waiting, they were submitted by then, and indexing waits.
   */
  #maybeIndex (): void {
    this.#timer = null
    if (this.#stopped || this.#backlog() <= 0) return
    const overdue = this.#backlog() > this.#options.maxTail
    const quietFor = performance.now() - Math.max(this.#lastCommitAt, this.#lastSubmitAt)
    if (!overdue && quietFor < this.#options.idleMs) {
      this.#arm(this.#options.idleMs - quietFor)
      return
    }
    const submitted = this.#lastSubmitAt
    this.#immediate = setImmediate(() => {
      this.#immediate = null
      if (this.#stopped) return
      if (!overdue && this.#lastSubmitAt !== submitted) {
        this.#arm(this.#options.idleMs)
        return
      }
      try {
        this.#indexer.step(this.#options.sliceRows)
        this.#afterSlice()
      } catch {
        // Reads stay exact (the backlog is merged in), so a failed slice only waits and tries again;
        // deliveries report storage trouble on their own path.
        this.#arm(INDEXER_RETRY_MS)
        return
      }
      if (this.#backlog() > 0) this.#arm(0)
    })
    this.#immediate.unref()
  }
}

import type { Indexer } from './indexer.ts'

/** When the deferred indexer (indexer.ts) runs. The defaults are what bench/ measured best; tests turn `auto` off. */
export interface IndexingOptions {
  /** false: only catchUp() indexes, so tests can hold rows in the tail. */
  auto?: boolean
  /** Quiet time after the last commit before the indexer starts catching up. */
  idleMs?: number
  /** Tail length (rows not yet indexed) past which the indexer runs even while deliveries keep coming. */
  maxTail?: number
  /** Rows per indexer transaction: roughly sliceRows × 15 µs of SQLite work (on the index thread for a file). */
  sliceRows?: number
}

export const INDEXING_DEFAULTS: Required<IndexingOptions> = { auto: true, idleMs: 25, maxTail: 50_000, sliceRows: 400 }

/** After a failed indexer transaction (disk full, lock, the index thread died), wait this long before trying again. */
const INDEXER_RETRY_MS = 1000

/**
 * Writes one slice of at most `maxRows` rows: synchronously on the store's connection (returns nothing),
 * or on the index thread (returns a promise that settles when the slice's slot has ended, see SqliteStore).
 * Throws, or rejects, when the slice failed.
 */
export type RunSlice = (maxRows: number) => Promise<void> | undefined

/** Where slices run: `run` writes one; `starting` is null when it can at once, or settles once it can (the index thread is up). */
export interface SliceRunner {
  run: RunSlice
  starting: () => Promise<void> | null
}

/**
 * Decides when the indexer takes its next slice: once deliveries have paused for idleMs, or at once
 * when the backlog passed maxTail, one slice at a time with a turn of the event loop between slices,
 * so deliveries go first. A slice on the index thread is asynchronous: the next is only armed when it
 * ended, and `slot` is the promise of the one running, for writers that must wait for it. Before a
 * slice, the runner may ask to wait (the index thread starting, or checkpointing between slots): nothing
 * is held meanwhile, and the slice is armed again once it is ready.
 */
export class IndexScheduler {
  readonly #indexer: Indexer
  readonly #options: Required<IndexingOptions>
  /** Rows committed but not yet indexed, as the store counts them. */
  readonly #backlog: () => number
  /** Called after each slice that committed (the checkpoint thread copies what it wrote). */
  readonly #afterSlice: () => void
  readonly #runner: SliceRunner
  #lastCommitAt = 0
  #lastSubmitAt = 0
  #timer: NodeJS.Timeout | null = null
  #immediate: NodeJS.Immediate | null = null
  /** Set from the start of a slice until it ended (for an asynchronous one, its slot's promise). */
  #running: Promise<void> | true | null = null
  /** Set while waiting for the runner to be able to start a slice (the index thread starting up). */
  #starting = false
  #stopped = false

  constructor (indexer: Indexer, options: IndexingOptions, backlog: () => number, afterSlice: () => void,
    runner: SliceRunner = { run: (maxRows) => { indexer.step(maxRows); return undefined }, starting: () => null }) {
    this.#indexer = indexer
    this.#options = { ...INDEXING_DEFAULTS, ...options }
    this.#backlog = backlog
    this.#afterSlice = afterSlice
    this.#runner = runner
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

  /** Arms the next slice when there is a backlog and none is armed or running. */
  schedule (): void {
    if (!this.#options.auto || this.#stopped || this.#timer !== null || this.#immediate !== null || this.#running !== null || this.#starting) return
    const backlog = this.#backlog()
    if (backlog <= 0) return
    this.#arm(backlog > this.#options.maxTail ? 0 : this.#options.idleMs)
  }

  /** The slice on the index thread running now, if any; it never rejects. */
  get slot (): Promise<void> | null {
    return this.#running === true ? null : this.#running
  }

  /** Resolves once no slice runs (at once when none does): the moment the store's connection may write. */
  async settled (): Promise<void> {
    while (this.slot !== null) await this.slot
  }

  /**
   * Indexes the backlog now, all of it or its oldest `maxRows` rows (seeding, tests); reads are exact
   * either way. On the store's connection, so never while a slice runs on the index thread.
   */
  catchUp (maxRows = Infinity): void {
    if (this.slot !== null) throw new Error('catchUp() while an index slice runs on the index thread: await the store\'s settled() first')
    let left = maxRows
    while (left > 0) {
      const done = this.#indexer.step(Math.min(left, this.#options.sliceRows * 10))
      if (done === 0) break
      left -= done
    }
  }

  /** No slice starts after this; one running still ends (await settled()). */
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
   * Runs one slice once deliveries have paused for idleMs (or the backlog passed maxTail), then comes
   * back after a turn of the event loop, so deliveries arriving meanwhile go first.
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
      this.#slice()
    })
    this.#immediate.unref()
  }

  #slice (): void {
    let starting: Promise<void> | null
    try {
      starting = this.#runner.starting()
    } catch {
      this.#ended(false)
      return
    }
    if (starting !== null) {
      // Nothing is held meanwhile: deliveries commit and reads run as usual until the runner is ready.
      this.#starting = true
      const ready = (ok: boolean) => {
        this.#starting = false
        if (!this.#stopped) this.#arm(ok ? 0 : INDEXER_RETRY_MS)
      }
      starting.then(() => ready(true), () => ready(false))
      return
    }
    this.#running = true
    let slot: Promise<void> | undefined
    try {
      slot = this.#runner.run(this.#options.sliceRows)
    } catch {
      this.#ended(false)
      return
    }
    if (slot === undefined) {
      this.#ended(true)
      return
    }
    this.#running = slot.then(() => this.#ended(true), () => this.#ended(false))
  }

  /**
   * Reads stay exact after a failed slice (the backlog is merged in), so it only waits and tries again;
   * deliveries report storage trouble on their own path.
   */
  #ended (ok: boolean): void {
    this.#running = null
    if (this.#stopped) return
    if (ok) {
      try {
        this.#afterSlice()
      } catch {}
      if (this.#backlog() > 0) this.#arm(0)
    } else {
      this.#arm(INDEXER_RETRY_MS)
    }
  }
}

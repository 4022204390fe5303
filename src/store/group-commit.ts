interface Pending<T, R> {
  item: T
  resolve: (result: R) => void
  reject: (error: unknown) => void
}

/**
 * Group commit: items submitted during one event-loop turn are committed together by one call of
 * `commitBatch` (one transaction, one journal sync), scheduled with setImmediate so it runs after
 * the poll phase that delivered them. Each promise settles only after its batch's commit returned;
 * if the commit throws, every item of that batch (and only that batch) is rejected.
 *
 * hold() pauses the commits while another connection writes (the index thread's slice, see
 * SqliteStore): items still queue, and release() commits them at the next check phase.
 */
export class GroupCommit<T, R> {
  #pending: Array<Pending<T, R>> = []
  #scheduled = false
  #held = false
  readonly #commitBatch: (items: T[]) => R[]

  constructor (commitBatch: (items: T[]) => R[]) {
    this.#commitBatch = commitBatch
  }

  submit (item: T): Promise<R> {
    return new Promise<R>((resolve, reject) => {
      this.#pending.push({ item, resolve, reject })
      if (!this.#scheduled) {
        this.#scheduled = true
        setImmediate(() => this.flush())
      }
    })
  }

  get pendingCount (): number {
    return this.#pending.length
  }

  /** Until release(), nothing commits: submit() queues and flush() does nothing. */
  hold (): void {
    this.#held = true
  }

  /** Commits resume: what queued meanwhile is committed after the poll phase, as one batch. */
  release (): void {
    this.#held = false
    if (this.#pending.length > 0 && !this.#scheduled) {
      this.#scheduled = true
      setImmediate(() => this.flush())
    }
  }

  /** Commits everything pending now (unless held); also called on close so nothing submitted is dropped. */
  flush (): void {
    this.#scheduled = false
    if (this.#held) return
    const batch = this.#pending
    if (batch.length === 0) return
    this.#pending = []
    let results: R[]
    try {
      results = this.#commitBatch(batch.map((p) => p.item))
    } catch (error) {
      for (const p of batch) p.reject(error)
      return
    }
    batch.forEach((p, i) => p.resolve(results[i] as R))
  }
}

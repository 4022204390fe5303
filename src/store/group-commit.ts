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
 */
export class GroupCommit<T, R> {
  #pending: Array<Pending<T, R>> = []
  #scheduled = false
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

  /** Commits everything pending now; also called on close so nothing submitted is dropped. */
  flush (): void {
    this.#scheduled = false
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

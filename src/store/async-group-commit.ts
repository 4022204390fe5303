interface Pending<T, R> {
  items: readonly T[]
  resolve: (results: R[]) => void
  reject: (error: unknown) => void
}

/**
 * Group commit for an engine whose commit is asynchronous (a round trip to a server): items submitted
 * while a commit is in flight, or during one event-loop turn, are committed together by one call of
 * `commitBatch` (one transaction, one WAL flush). At most one batch is in flight, so under load the
 * batch grows to whatever arrived during the previous commit. Each promise settles only after its
 * batch's commit resolved; if the commit rejects, every item of that batch (and only that batch) is
 * rejected. The items of one submitAll call always share a batch: they commit together or not at all.
 */
export class AsyncGroupCommit<T, R> {
  #pending: Array<Pending<T, R>> = []
  #scheduled = false
  #inFlight: Promise<void> | null = null
  readonly #commitBatch: (items: T[]) => Promise<R[]>

  constructor (commitBatch: (items: T[]) => Promise<R[]>) {
    this.#commitBatch = commitBatch
  }

  submit (item: T): Promise<R> {
    return this.submitAll([item]).then((results) => results[0] as R)
  }

  submitAll (items: readonly T[]): Promise<R[]> {
    if (items.length === 0) return Promise.resolve([])
    return new Promise<R[]>((resolve, reject) => {
      this.#pending.push({ items, resolve, reject })
      this.#schedule()
    })
  }

  get pendingCount (): number {
    return this.#pending.reduce((n, p) => n + p.items.length, 0)
  }

  #schedule (): void {
    if (this.#scheduled || this.#inFlight !== null) return
    this.#scheduled = true
    // After the poll phase: every delivery read in this turn joins the batch.
    setImmediate(() => {
      this.#scheduled = false
      this.#start()
    })
  }

  #start (): void {
    if (this.#inFlight !== null || this.#pending.length === 0) return
    const batch = this.#pending
    this.#pending = []
    this.#inFlight = this.#run(batch).finally(() => {
      this.#inFlight = null
      if (this.#pending.length > 0) this.#schedule()
    })
  }

  async #run (batch: Array<Pending<T, R>>): Promise<void> {
    let results: R[]
    try {
      results = await this.#commitBatch(batch.flatMap((p) => p.items))
    } catch (error) {
      for (const p of batch) p.reject(error)
      return
    }
    let at = 0
    for (const p of batch) {
      p.resolve(results.slice(at, at + p.items.length))
      at += p.items.length
    }
  }

  /** Commits everything pending now and waits for it; called on close so nothing submitted is dropped. */
  async flush (): Promise<void> {
    while (this.#inFlight !== null || this.#pending.length > 0) {
      if (this.#inFlight === null) this.#start()
      await this.#inFlight
    }
  }
}

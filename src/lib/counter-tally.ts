import type { Counter } from 'prom-client'

type LabelValues<T extends string> = Partial<Record<T, string | number>>

/**
 * Per-request counts kept in a plain Map and handed to a prom-client counter when it is read (from the
 * counter's `collect`, which every scrape and every get() runs first), so /metrics shows exactly what
 * counting each request directly would. Why: prom-client's inc(labels) checks the label names and
 * builds the series key on every call, 0.3-0.9 µs apiece; here a request costs one Map lookup by a key
 * its caller already has, and the checks run once per series and scrape.
 *
 * The key must name the label values one to one (callers join them with a separator they cannot
 * contain); series first counted here appear in the same order as if counted directly.
 */
export class CounterTally<T extends string> {
  readonly #series = new Map<string, { labels: LabelValues<T>, pending: number }>()

  /** One more for the series `key`; `labels` is read only the first time the key is seen. */
  increment (key: string, labels: LabelValues<T>, by = 1): void {
    const series = this.#series.get(key)
    if (series === undefined) this.#series.set(key, { labels, pending: by })
    else series.pending += by
  }

  /** Adds what was counted since the last flush to `counter`. Call it from the counter's collect(). */
  flush (counter: Counter<T>): void {
    for (const series of this.#series.values()) {
      if (series.pending === 0) continue
      counter.inc(series.labels, series.pending)
      series.pending = 0
    }
  }
}

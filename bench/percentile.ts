/** The nearest-rank percentile of ascending `sorted` samples (p in 0..1): the value at rank ⌈p·n⌉. */
export const percentile = (sorted: number[], p: number): number => sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1))]!

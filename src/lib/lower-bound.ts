/** How many items of ascending `sorted` are below `value`: where `value` is, or would be inserted (binary search). */
export function lowerBound<T extends string | number> (sorted: readonly T[], value: T): number {
  let [lo, hi] = [0, sorted.length]
  while (lo < hi) {
    const mid = (lo + hi) >> 1
    if (sorted[mid]! < value) lo = mid + 1
    else hi = mid
  }
  return lo
}

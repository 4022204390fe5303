/**
 * mulberry32: a small, fast PRNG, good enough for synthetic data and randomised tests, and replayable
 * from its seed (a failing seed reproduces the same choices). The bench data, the seeder, the crash
 * harness and the model tests all draw from this one.
 */
export function random (seed: number): () => number {
  return () => {
    seed = (seed + 0x6D2B79F5) | 0
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed)
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

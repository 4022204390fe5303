import { Worker } from 'node:worker_threads'

/** Young-generation size of each store thread's heap, MB. */
const YOUNG_GENERATION_MB = 4

/**
 * Starts one of the store's threads by the name of its entry module (`scan-worker`, `checkpoint-worker`,
 * `index-worker`).
 *
 * In the production bundle the store's code is part of dist/server.js, next to dist/<name>.js
 * (scripts/build.ts builds them all). From source (tsx: dev and tests) it sits next to <name>.ts, and a
 * worker does not inherit tsx's `--import` hooks on Node 20
 * (https://github.com/privatenumber/tsx/issues/354), so a two-line bootstrap registers them first.
 */
export function startThread (name: string, workerData: unknown): Worker {
  // Each thread is a V8 isolate of its own; these only move rows between SQLite and a message, so a
  // small young generation is enough (V8's default semi-spaces would add their size to the RSS per thread).
  const options = { workerData, resourceLimits: { maxYoungGenerationSizeMb: YOUNG_GENERATION_MB } }
  if (!import.meta.url.endsWith('.ts')) return new Worker(new URL(`./${name}.js`, import.meta.url), options)
  const tsx = JSON.stringify(import.meta.resolve('tsx/esm/api'))
  const entry = JSON.stringify(new URL(`./${name}.ts`, import.meta.url).href)
  return new Worker(`import(${tsx}).then((tsx) => { tsx.register(); return import(${entry}) })`, { ...options, eval: true })
}

/**
 * `npm run build`: the production build, one ES module at dist/server.js (plus its source map), and
 * the entries of the store's three threads (src/store/sqlite/start-thread.ts): dist/scan-worker.js,
 * dist/checkpoint-worker.js and dist/index-worker.js.
 *
 * Why a bundle and not tsc's file-per-module output: Node 20 spends most of a cold start resolving,
 * reading and linking a few thousand small module files (TypeBox's ESM build alone is hundreds).
 * Start → ready before and after: docs/architecture.md. Types are checked by
 * `npm run typecheck`, which the test command runs; esbuild only strips them.
 *
 * Left outside the bundle, loaded from node_modules at run time:
 * - better-sqlite3: a native addon, found through its own package directory.
 * - @fastify/swagger-ui: serves its static files from its package directory.
 *
 *   node --import tsx scripts/build.ts [--outdir dist]
 */
import { parseArgs } from 'node:util'
import { build } from 'esbuild'

const EXTERNAL = ['better-sqlite3', '@fastify/swagger-ui']

const source = (path: string) => new URL(`../${path}`, import.meta.url).pathname

/** Bundles the server into `outdir`; it must sit inside the repository so the externals resolve. */
export async function buildServer (outdir: string): Promise<void> {
  await build({
    entryPoints: {
      server: source('src/server.ts'),
      'scan-worker': source('src/store/sqlite/scan-worker.ts'),
      'checkpoint-worker': source('src/store/sqlite/checkpoint-worker.ts'),
      'index-worker': source('src/store/sqlite/index-worker.ts')
    },
    outdir,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    sourcemap: true,
    external: EXTERNAL,
    // CommonJS dependencies (fastify, pino, prom-client…) call require(); an ES module has none.
    banner: { js: "import { createRequire } from 'node:module'; const require = createRequire(import.meta.url);" },
    logLevel: 'warning'
  })
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { values } = parseArgs({ options: { outdir: { type: 'string', default: 'dist' } } })
  await buildServer(values.outdir)
}

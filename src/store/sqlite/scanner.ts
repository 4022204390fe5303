import type { Worker } from 'node:worker_threads'
import { StoreUnavailableError } from '../errors.ts'
import { startThread } from './start-thread.ts'
import { fromThreadError, type ThreadError } from './worker-support.ts'

/** Named parameters of a read's SQL. */
export type Params = Record<string, string | number>

/** A read that tests rows one by one: the page (its rows) and, when asked, its exact total, with their named parameters. */
export interface Scan {
  page: string
  total?: string
  params: Params
}

/** The page's rows, and the total when the scan asked for one (else null). */
export interface ScanResult { rows: unknown[], total: number | null }

export interface ScanRequest extends Scan {
  id: number
}

export type ScanReply =
  | { id: number, rows: unknown[], total: number | null }
  | { id: number, error: ThreadError }

/**
 * Runs scans on a worker thread with its own read-only connection, so that a search which must fold and
 * test hundreds of thousands of rows (a common word with `since`, a query the index cannot answer) does
 * not hold the event loop, and deliveries keep being committed meanwhile. The thread starts at the
 * first scan. Only for database files: an in-memory database exists on its one connection only.
 */
export class Scanner {
  readonly #filename: string
  #worker: Worker | null = null
  #closed = false
  #nextId = 0
  readonly #pending = new Map<number, { resolve: (value: ScanResult) => void, reject: (error: unknown) => void }>()

  constructor (filename: string) {
    this.#filename = filename
  }

  run (scan: Scan): Promise<ScanResult> {
    if (this.#closed) return Promise.reject(new StoreUnavailableError('database closed'))
    return new Promise((resolve, reject) => {
      const id = this.#nextId++
      this.#pending.set(id, { resolve, reject })
      this.#thread().postMessage({ id, ...scan } satisfies ScanRequest)
    })
  }

  #thread (): Worker {
    if (this.#worker !== null) return this.#worker
    const worker = startThread('scan-worker', { filename: this.#filename })
    worker.unref() // an idle scan thread never keeps the process alive
    worker.on('message', (reply: ScanReply) => {
      const pending = this.#pending.get(reply.id)
      if (pending === undefined) return
      this.#pending.delete(reply.id)
      if ('error' in reply) {
        pending.reject(fromThreadError(reply.error))
      } else {
        pending.resolve(reply)
      }
    })
    // The thread died (it could not open the file, or ran out of memory): fail what it held with a 503,
    // and start a fresh one at the next scan.
    const stopped = (error: unknown) => {
      if (this.#worker !== worker) return
      this.#worker = null
      for (const pending of this.#pending.values()) pending.reject(new StoreUnavailableError('database unavailable', { cause: error }))
      this.#pending.clear()
    }
    worker.on('error', stopped)
    worker.on('exit', (code) => stopped(new Error(`scan thread exited with code ${code}`)))
    this.#worker = worker
    return worker
  }

  async close (): Promise<void> {
    this.#closed = true
    const worker = this.#worker
    if (worker === null) return
    await worker.terminate()
  }
}

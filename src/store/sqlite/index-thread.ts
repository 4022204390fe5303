import type { Worker } from 'node:worker_threads'
import type { identityOf } from './file-guard.ts'
import type { Slice } from './indexer.ts'
import { startThread } from './start-thread.ts'
import { fromThreadError, type ThreadError } from './worker-support.ts'

export interface IndexThreadData {
  filename: string
  /** The file the store opened (file-guard.ts): the thread refuses to open anything else at that path. */
  identity: ReturnType<typeof identityOf>
  busyTimeoutMs: number
  cacheSizeKiB: number
  walAutocheckpointPages: number
  /** Nice 19 (Linux): the thread runs on the CPU the event loop leaves. */
  lowPriority: boolean
}

/** A slice of at most maxRows rows, or a PASSIVE checkpoint (see checkpoint()). */
export type IndexRequest = { maxRows: number } | { checkpoint: true }

export type IndexReply = Slice | { checkpointed: true } | { error: ThreadError } | { ready: true }

interface Pending {
  resolve: (reply: Slice | { checkpointed: true }) => void
  reject: (error: unknown) => void
}

/**
 * Writes indexer slices on a worker thread with its own connection (index-worker.ts), so a slice's
 * SQLite work never holds the event loop. One slice at a time: the store asks for the next only after
 * this one settled. The thread starts at the first slice; if it dies, the slice in flight fails and
 * the next one starts a fresh thread. Only for database files.
 *
 * Starting takes a while (a thread, a connection, from source also transpiling: ~0.1–0.9 s on a busy
 * core), and the store holds deliveries for as long as a slice runs, so it waits for starting() first.
 */
export class IndexThread {
  readonly #data: IndexThreadData
  #worker: Worker | null = null
  #pending: Pending | null = null
  /** Settles once the running thread has its connection (or died first); null once it has. */
  #starting: Promise<void> | null = null

  constructor (data: IndexThreadData) {
    this.#data = data
  }

  /**
   * Indexes up to `maxRows` rows past the committed watermark; settles once the slice's transaction
   * committed (the slice), failed (SQLite's error), or the thread died (then it may or may not have
   * committed: the caller reads the state again).
   */
  slice (maxRows: number): Promise<Slice> {
    return this.#request({ maxRows }) as Promise<Slice>
  }

  /**
   * Copies the WAL into the database file (PASSIVE: never waits for, nor blocks, other connections).
   * The store asks for it between slots, with nothing pinned: a WAL fully copied when the next slot
   * begins lets that slot's commit start the WAL over. https://www.sqlite.org/wal.html#avoiding_excessively_large_wal_files
   */
  async checkpoint (): Promise<void> {
    await this.#request({ checkpoint: true })
  }

  #request (request: IndexRequest): Promise<Slice | { checkpointed: true }> {
    if (this.#pending !== null) return Promise.reject(new Error('an index thread request is already running'))
    return new Promise((resolve, reject) => {
      const worker = this.#thread() // throws (the promise rejects) when no thread can start; nothing is pending then
      this.#pending = { resolve, reject }
      worker.postMessage(request)
    })
  }

  /** Null when the thread is up with its connection; otherwise starts it, and settles once it is up or has died. */
  starting (): Promise<void> | null {
    if (this.#worker === null) this.#thread()
    return this.#starting
  }

  #settle (): Pending | null {
    const pending = this.#pending
    this.#pending = null
    return pending
  }

  #thread (): Worker {
    if (this.#worker !== null) return this.#worker
    const worker = startThread('index-worker', this.#data)
    worker.unref() // an idle index thread never keeps the process alive; a backlog is indexed at the next start
    let up: { resolve: () => void, reject: (error: unknown) => void }
    this.#starting = new Promise((resolve, reject) => { up = { resolve, reject } })
    this.#starting.catch(() => {}) // also reported to whoever awaits it
    worker.on('message', (reply: IndexReply) => {
      if ('ready' in reply) {
        if (this.#worker === worker) this.#starting = null
        up.resolve()
        return
      }
      const pending = this.#settle()
      if (pending === null) return
      if ('error' in reply) {
        pending.reject(fromThreadError(reply.error))
      } else {
        pending.resolve(reply)
      }
    })
    // Only once the thread is gone (an 'error' is followed by 'exit'): a slice it was writing has then
    // either committed or never will, so the state the caller reads next is final.
    worker.on('exit', (code) => {
      if (this.#worker !== worker) return
      this.#worker = null
      this.#starting = null
      const error = new Error(`index thread exited with code ${code}`)
      up.reject(error)
      this.#settle()?.reject(error)
    })
    worker.on('error', () => {}) // reported by 'exit'
    this.#worker = worker
    return worker
  }

  /** Ends the thread (a slice in flight fails, as when the thread dies); the next slice starts a new one. */
  async stop (): Promise<void> {
    await this.#worker?.terminate()
  }
}

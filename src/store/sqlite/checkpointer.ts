import type { Worker } from 'node:worker_threads'
import { startThread } from './start-thread.ts'

export interface CheckpointThreadData {
  filename: string
  intervalMs: number
}

/**
 * Moves WAL checkpoints off the event loop. Without it, SQLite checkpoints inside whichever commit
 * pushes the WAL past `wal_autocheckpoint` pages: that commit copies ~1000 pages into the database file
 * and syncs it before the event loop moves on, and every delivery waiting in that turn waits too.
 *
 * The thread (checkpoint-worker.ts) runs a PASSIVE checkpoint every `intervalMs` on its own connection.
 * While it runs, the main connection keeps an autocheckpoint only as a bound (see SqliteStore): a
 * PASSIVE checkpoint cannot reset the WAL while commits keep arriving, so the main connection still
 * checkpoints, rarely and with almost nothing left to copy, which lets the next commit start the WAL over.
 *
 * `onRunning(true)` is called once the thread has its connection; `onRunning(false)` if it dies, after
 * which the main connection checkpoints by itself again, as before, for the rest of the process.
 * Started by the store's first write (a delivery, an indexer slice or the readiness probe's), so a run
 * that never writes starts no thread; only for database files.
 */
export class Checkpointer {
  readonly #data: CheckpointThreadData
  readonly #onRunning: (running: boolean) => void
  #worker: Worker | null = null
  #started = false
  #closed = false

  constructor (data: CheckpointThreadData, onRunning: (running: boolean) => void) {
    this.#data = data
    this.#onRunning = onRunning
  }

  start (): void {
    if (this.#started || this.#closed) return
    this.#started = true
    const worker = startThread('checkpoint-worker', this.#data)
    worker.unref() // never keeps the process alive: SQLite checkpoints at close, and at the next open
    worker.once('message', () => { if (!this.#closed) this.#onRunning(true) })
    const stopped = () => {
      if (this.#worker !== worker) return
      this.#worker = null
      if (!this.#closed) this.#onRunning(false)
    }
    worker.on('error', stopped)
    worker.on('exit', stopped)
    this.#worker = worker
  }

  /** Stops the thread and closes its connection; the store closes its own after this. */
  async close (): Promise<void> {
    this.#closed = true
    const worker = this.#worker
    this.#worker = null
    if (worker !== null) await worker.terminate()
  }
}

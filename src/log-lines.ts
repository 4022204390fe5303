import { writeSync } from 'node:fs'

/** How long the final flush at exit may wait for a full pipe to drain before it drops what is left. */
const EXIT_FLUSH_MS = 1_000
/** How long to wait before writing again into a pipe that is full (EAGAIN). */
const RETRY_MS = 10
/** Lines held while the pipe is full; beyond this they are dropped rather than grow without bound. */
const MAX_PENDING_LINES = 50_000

const pause = new Int32Array(new SharedArrayBuffer(4))

/**
 * The destination of the log: JSON lines on a file descriptor (stdout), written in one batch per turn
 * of the event loop. A line that cannot be written is dropped and counted, never retried: when the
 * reader of stdout has gone (`npm start | head -1`, a dead log shipper), every write fails with EPIPE,
 * and a logger that retries it loops forever; pino's default stream does, in its flush at exit, so a
 * shutdown whose lines hit the closed pipe never ended and ignored further signals. Every write here is
 * synchronous, so nothing is in flight when the process exits, and the flush at exit is bounded.
 */
export class LogLines {
  /** Lines that could not be written: the reader had gone, or a full pipe did not drain in time. */
  dropped = 0
  readonly #fd: number
  #pending: string[] = []
  #scheduled = false
  #broken = false

  constructor (fd: number) {
    this.#fd = fd
  }

  /** pino's destination interface: one serialised line, newline included. */
  write (line: string): boolean {
    if (this.#broken || this.#pending.length >= MAX_PENDING_LINES) {
      this.dropped++
      return true
    }
    this.#pending.push(line)
    if (!this.#scheduled) {
      this.#scheduled = true
      setImmediate(() => this.#flushTurn())
    }
    return true
  }

  /** Writes what is pending now; pino calls it from logger.flush(). */
  flush (callback?: (error?: Error) => void): void {
    this.flushSync()
    callback?.()
  }

  /** Writes everything pending, waiting at most EXIT_FLUSH_MS for a full pipe; drops the rest. */
  flushSync (): void {
    const deadline = Date.now() + EXIT_FLUSH_MS
    while (this.#pending.length > 0 && !this.#broken) {
      if (this.#writePending() === 'full') {
        if (Date.now() >= deadline) break
        Atomics.wait(pause, 0, 0, RETRY_MS)
      }
    }
    this.dropped += countLines(this.#pending.join(''))
    this.#pending = []
  }

  #flushTurn (): void {
    this.#scheduled = false
    if (this.#writePending() === 'full') {
      this.#scheduled = true
      setTimeout(() => this.#flushTurn(), RETRY_MS)
    }
  }

  /** One write of every pending line; a partial write keeps the unwritten rest pending. */
  #writePending (): 'done' | 'full' {
    if (this.#pending.length === 0) return 'done'
    const lines = this.#pending.length
    const buffer = Buffer.from(lines === 1 ? this.#pending[0]! : this.#pending.join(''))
    this.#pending = []
    let written = 0
    try {
      while (written < buffer.length) written += writeSync(this.#fd, buffer, written)
      return 'done'
    } catch (error) {
      const rest = buffer.subarray(written).toString()
      if ((error as NodeJS.ErrnoException).code === 'EAGAIN') {
        this.#pending.unshift(rest)
        return 'full'
      }
      // EPIPE (the reader has gone), EBADF, EIO…: nothing later will get through either.
      this.#broken = true
      this.dropped += countLines(rest)
      return 'done'
    }
  }
}

/** Lines begun in `text`: a partly written line counts as dropped. */
function countLines (text: string): number {
  let count = 0
  for (let i = text.indexOf('\n'); i !== -1; i = text.indexOf('\n', i + 1)) count++
  return text === '' || text.endsWith('\n') ? count : count + 1
}

let stdoutLines: LogLines | undefined

/** The process's one stdout destination, flushed (boundedly) on every exit path. */
export function stdoutLogLines (): LogLines {
  if (stdoutLines === undefined) {
    const lines = new LogLines(1)
    process.on('exit', () => lines.flushSync())
    stdoutLines = lines
  }
  return stdoutLines
}

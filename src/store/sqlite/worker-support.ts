import { readlinkSync } from 'node:fs'
import { setPriority } from 'node:os'
import { SqliteError } from 'better-sqlite3'

/** An error as a store thread replies with it: only the message and SQLite's code cross the boundary. */
export interface ThreadError {
  message: string
  code: string | undefined
}

/** In a store thread: the error to reply with. */
export function toThreadError (error: unknown): ThreadError {
  return { message: (error as Error).message, code: error instanceof SqliteError ? error.code : undefined }
}

/** On the main thread: the error again, a SqliteError when it was one, so unavailable.ts maps it as usual. */
export function fromThreadError ({ message, code }: ThreadError): Error {
  return code === undefined ? new Error(message) : new SqliteError(message, code)
}

/**
 * In a store thread: the lowest priority (nice 19), so it runs on the CPU the acknowledgement path
 * leaves. On Linux every thread has its own nice value; elsewhere, or without /proc, it keeps normal priority.
 */
export function lowerThreadPriority (): void {
  try {
    setPriority(Number(readlinkSync('/proc/thread-self').split('/').pop()), 19)
  } catch {}
}

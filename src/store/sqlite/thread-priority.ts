import { readlinkSync } from 'node:fs'
import { setPriority } from 'node:os'

/**
 * Gives the calling thread a nice value, so the acknowledgement path goes first. On Linux every thread
 * has its own (its id is the last part of /proc/thread-self); elsewhere, or without /proc, the thread
 * keeps normal priority.
 */
export function lowerThreadPriority (nice: number): void {
  try {
    setPriority(Number(readlinkSync('/proc/thread-self').split('/').pop()), nice)
  } catch {}
}

import { readFileSync } from 'node:fs'
import { endianness } from 'node:os'
import { setTimeout as sleep } from 'node:timers/promises'

/**
 * Where a database's WAL stands, from the WAL-index header in `<db>-shm`: mxFrame (frames in the WAL)
 * at byte 16 and nBackfill (frames already copied into the database file) at byte 96, in native byte order.
 * https://www.sqlite.org/walformat.html#the_wal_index_file_format
 */
export function walProgress (filename: string): { frames: number, copied: number } {
  const shm = readFileSync(`${filename}-shm`)
  const read = (offset: number) => endianness() === 'LE' ? shm.readUInt32LE(offset) : shm.readUInt32BE(offset)
  return { frames: read(16), copied: read(96) }
}

/** True as soon as `condition` holds, false if it did not within `ms`. */
export async function until (condition: () => boolean, ms: number): Promise<boolean> {
  for (const end = Date.now() + ms; Date.now() < end; await sleep(10)) if (condition()) return true
  return condition()
}

/** True once the WAL has frames and all of them are in the database file; false if not within `ms`. */
export function walCopied (filename: string, ms: number): Promise<boolean> {
  return until(() => {
    const { frames, copied } = walProgress(filename)
    return frames > 0 && copied === frames
  }, ms)
}

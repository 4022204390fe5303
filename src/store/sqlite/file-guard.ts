import { statSync } from 'node:fs'
import { dirname } from 'node:path'
import type Database from 'better-sqlite3'

/** What a path pointed at: the same (dev, ino) pair means the same file. */
interface FileIdentity {
  readonly dev: bigint
  readonly ino: bigint
}

/** Hooks SqliteStore calls so a FileGuard can watch the files behind its connection. */
export interface StoreGuard {
  /** The connection is open and migrated. */
  opened (db: Database.Database): void
  /** A batch has committed; throwing fails every save of that batch (503), before anyone is answered. */
  committed (): void
}

/** `null` when nothing is there; bigint because 64-bit inode numbers do not fit a double. */
export function identityOf (path: string): FileIdentity | null {
  try {
    const stats = statSync(path, { bigint: true, throwIfNoEntry: false })
    return stats === undefined ? null : { dev: stats.dev, ino: stats.ino }
  } catch {
    // EACCES, ENOTDIR, EIO…: whatever it is, the path no longer leads to our file.
    return null
  }
}

export const sameFile = (a: FileIdentity | null, b: FileIdentity | null): boolean =>
  a !== null && b !== null && a.dev === b.dev && a.ino === b.ino

/** What a path holds now, compared with what it held when the connection opened. */
export type PathState = 'ours' | 'absent' | 'foreign'

/**
 * Notices when the database file (or its WAL or shared-memory file) at a path is no longer the one
 * SQLite has open.
 *
 * SQLite keeps reading and writing an open file descriptor after the file was unlinked, its directory
 * removed, or another file moved over its name: commits succeed, into a file nobody will ever open
 * again. That would be a 200 for a message that is gone at the next restart. So the identity of the
 * files is captured when the connection opens and compared after every batch commit, before any
 * caller is answered. https://www.sqlite.org/howtocorrupt.html#_unlinking_or_renaming_a_database_file_while_in_use
 */
export class FileGuard {
  readonly filename: string
  readonly walFilename: string
  readonly shmFilename: string
  #db: FileIdentity | null = null
  #wal: FileIdentity | null = null
  #shm: FileIdentity | null = null

  constructor (filename: string) {
    this.filename = filename
    this.walFilename = `${filename}-wal`
    this.shmFilename = `${filename}-shm`
  }

  /** Records what the paths name now; call once the connection is open and migrated (the WAL exists by then). */
  capture (): void {
    this.#db = identityOf(this.filename)
    this.#wal = identityOf(this.walFilename)
    this.#shm = identityOf(this.shmFilename)
  }

  #state (path: string, captured: FileIdentity | null): PathState {
    const now = identityOf(path)
    if (now === null) return 'absent'
    return sameFile(now, captured) ? 'ours' : 'foreign'
  }

  get database (): PathState { return this.#state(this.filename, this.#db) }
  get wal (): PathState { return this.#state(this.walFilename, this.#wal) }
  get shm (): PathState { return this.#state(this.shmFilename, this.#shm) }

  /** `null` while the paths still name the files opened, otherwise what went wrong, for 503 bodies and readiness. */
  problem (): string | null {
    const database = this.database
    if (database === 'foreign') return 'database file replaced'
    if (database === 'absent') {
      return identityOf(dirname(this.filename)) === null ? 'database directory missing' : 'database file missing'
    }
    // A WAL that existed when we opened must still be ours; one that did not (unusual) is not watched.
    if (this.#wal !== null && this.wal !== 'ours') return 'database journal missing'
    return null
  }
}

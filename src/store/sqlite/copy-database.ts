import { closeSync, fsyncSync, linkSync, openSync, rmSync } from 'node:fs'
import { dirname } from 'node:path'
import type Database from 'better-sqlite3'

/**
 * Writes a consistent copy of `db` to `target` (VACUUM INTO reads one snapshot while writers go on),
 * durably, and never over a file that appeared meanwhile: the copy is written under a temporary name,
 * `check`ed (it may throw to refuse it), synced, then linked into place. Returns what `check` returned.
 * https://www.sqlite.org/lang_vacuum.html#vacuuminto
 */
export function copyDatabase<T> (db: Database.Database, target: string, check: (copy: string) => T): T {
  const temporary = `${target}.partial-${process.pid}`
  rmSync(temporary, { force: true })
  let checked: T
  try {
    db.prepare('VACUUM INTO ?').run(temporary)
    checked = check(temporary)
    fsyncPath(temporary, 'r+')
    linkSync(temporary, target) // EEXIST rather than replace
  } finally {
    rmSync(temporary, { force: true })
  }
  fsyncPath(dirname(target), 'r') // the new name itself survives a crash
  return checked
}

function fsyncPath (path: string, flags: string): void {
  const fd = openSync(path, flags)
  try {
    fsyncSync(fd)
  } finally {
    closeSync(fd)
  }
}

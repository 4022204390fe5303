/**
 * `npm run backup -- <file>`: a consistent online copy of the service's SQLite database (DATABASE_URL,
 * as the service reads it) while the service keeps running and acknowledging deliveries.
 *
 * The copy is `VACUUM INTO` on a read-only connection of its own: one read transaction, so WAL gives it
 * one snapshot (every message acknowledged before the backup started is in it) while commits go on;
 * the live file is never written. Then `PRAGMA integrity_check` on the copy, then the copy is synced and
 * linked to `<file>` (never overwriting a file that appeared meanwhile). Prints one JSON line, exits 0.
 * Why not the online backup API (db.backup()): it copies a few pages per step, and a write by another
 * connection between steps restarts it, so under steady ingest it kept restarting (docs/lifecycle.md).
 * https://www.sqlite.org/lang_vacuum.html#vacuuminto  https://www.sqlite.org/backup.html
 *
 * Refuses (exit 1, one line on stderr) when <file> exists, when DATABASE_URL names PostgreSQL (use
 * pg_dump) or an in-memory database, and when the database file does not exist.
 */
import { existsSync, statSync } from 'node:fs'
import { resolve } from 'node:path'
import Database from 'better-sqlite3'
import { Env } from '../schemas/env.ts'
import { environment } from '../src/config.ts'
import { parseDatabaseUrl } from '../src/lib/database-url.ts'
import { copyDatabase } from '../src/store/sqlite/copy-database.ts'

class Refusal extends Error {}

function backup (target: string | undefined, url: string): Record<string, unknown> {
  if (target === undefined || target === '') throw new Refusal('usage: npm run backup -- <file>')
  if (/^postgres(?:ql)?:\/\//.test(url)) {
    throw new Refusal('DATABASE_URL names PostgreSQL: back it up with pg_dump (e.g. pg_dump --format=custom --file=<file> "$DATABASE_URL")')
  }
  const location = parseDatabaseUrl(url)
  if (location === null || location.engine !== 'sqlite') throw new Refusal(`DATABASE_URL ${JSON.stringify(url)} is not a SQLite database this service reads`)
  if (location.filename === ':memory:') throw new Refusal('DATABASE_URL names an in-memory database: there is nothing on disk to back up')
  const file = resolve(target)
  if (existsSync(file)) throw new Refusal(`${file} exists: choose a new file name (a backup never overwrites)`)
  if (!existsSync(location.filename)) throw new Refusal(`the database file ${location.filename} does not exist`)

  const started = performance.now()
  // Read-only: the backup can never write the live file. A short busy timeout covers the moment a
  // checkpoint holds the WAL index.
  const source = new Database(location.filename, { readonly: true, fileMustExist: true, timeout: 5000 })
  let checked: { integrity: string, rows: number }
  try {
    checked = copyDatabase(source, file, (partial) => {
      const copy = new Database(partial, { fileMustExist: true })
      try {
        const integrity = (copy.pragma('integrity_check') as Array<{ integrity_check: string }>).map((r) => r.integrity_check).join('; ')
        if (integrity !== 'ok') throw new Error(`integrity_check on the copy: ${integrity}`)
        return { integrity, rows: copy.prepare('SELECT count(*) FROM messages').pluck().get() as number }
      } finally {
        copy.close()
      }
    })
  } finally {
    source.close()
  }
  const { integrity, rows } = checked
  return {
    file,
    rows,
    integrity,
    bytes: statSync(file).size,
    seconds: +((performance.now() - started) / 1000).toFixed(2),
    source: resolve(location.filename),
    method: 'VACUUM INTO'
  }
}

try {
  // Read as the service reads it (config.ts): .env under the real environment; unset or empty means the default.
  const configured = environment().DATABASE_URL
  const url = configured === undefined || configured === '' ? (Env.properties.DATABASE_URL as { default?: string }).default! : configured
  process.stdout.write(JSON.stringify(backup(process.argv[2], url)) + '\n')
} catch (error) {
  process.stderr.write(`backup: ${(error as Error).message}\n`)
  process.exitCode = error instanceof Refusal ? 2 : 1
}

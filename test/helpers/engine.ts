import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { TestContext } from 'node:test'
import Database from 'better-sqlite3'
import { adminQuery, freshDatabase, postgresMissing } from './postgres.ts'

// Which engine the engine-neutral suites (test/routes, test/fuzz, test/process) run on: SQLite unless
// TEST_ENGINE=postgres, which `npm run test:postgres` sets (through test/helpers/with-postgres.ts, which
// also provides the server as TEST_POSTGRES_URL).

export type Engine = 'sqlite' | 'postgres'

export const ENGINE: Engine = process.env.TEST_ENGINE === 'postgres' ? 'postgres' : 'sqlite'

if (ENGINE === 'postgres') {
  const missing = postgresMissing() // throws under CI=true
  if (missing !== null) throw new Error(`TEST_ENGINE=postgres: ${missing}`)
}

/**
 * Test options for a test that checks something only SQLite has (WAL files, pragmas, file paths):
 * skipped, with the reason in the report, on the other engine.
 */
export function sqliteOnly (why: string): { skip?: string } {
  return ENGINE === 'sqlite' ? {} : { skip: `SQLite only (${why}); TEST_ENGINE=${ENGINE}` }
}

/**
 * Test options for a test no database takes part in (the process stops before opening one): it runs in
 * the SQLite pass only, since a second run would prove nothing about the other engine.
 */
export function engineNeutral (why: string): { skip?: string } {
  return ENGINE === 'sqlite' ? {} : { skip: `no database involved (${why}): runs in the SQLite pass only` }
}

/**
 * A fresh database for one test on the engine under test, removed when the test ends. SQLite: in memory,
 * or a file in a temporary folder when `durable` (the data must outlive a process); PostgreSQL: a new
 * database on the shared server (always durable).
 */
export async function testDatabaseUrl (t: TestContext, options: { durable?: boolean } = {}): Promise<string> {
  if (ENGINE === 'postgres') return freshDatabase(t)
  if (options.durable !== true) return 'sqlite::memory:'
  const dir = mkdtempSync(join(tmpdir(), 'hookvault-test-'))
  t.after(() => rmSync(dir, { recursive: true, force: true }))
  return `sqlite:///${join(dir, 'app.db')}`
}

/**
 * Every message_id stored in the database behind a durable `databaseUrl`, read with the engine's own
 * client (not through the service), so a test can check what really reached the database.
 */
export async function storedMessageIds (databaseUrl: string): Promise<Set<string>> {
  if (databaseUrl.startsWith('sqlite')) {
    const filename = databaseUrl.slice(databaseUrl.indexOf(':///') + 4)
    const db = new Database(filename, { readonly: true, fileMustExist: true })
    try {
      return new Set(db.prepare('SELECT message_id FROM messages').pluck().all() as string[])
    } finally {
      db.close()
    }
  }
  const rows = await adminQuery<{ message_id: string }>(databaseUrl, 'SELECT message_id FROM messages')
  return new Set(rows.map((row) => row.message_id))
}

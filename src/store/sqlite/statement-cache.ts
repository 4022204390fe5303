import type Database from 'better-sqlite3'
import type { Statement } from 'better-sqlite3'

/**
 * A connection's statements by SQL text, each prepared the first time it is seen and reused afterwards.
 * The reads' SQL comes from a small fixed set of plan shapes, so the cache stays small.
 */
export function statementCache (db: Database.Database): (sql: string) => Statement {
  const statements = new Map<string, Statement>()
  return (sql) => {
    let statement = statements.get(sql)
    if (statement === undefined) statements.set(sql, statement = db.prepare(sql))
    return statement
  }
}

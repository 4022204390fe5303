import { parentPort, workerData } from 'node:worker_threads'
import Database from 'better-sqlite3'
import type { ScanReply, ScanRequest } from './scanner.ts'
import { registerFoldCase } from './search-text.ts'
import { statementCache } from './statement-cache.ts'
import { lowerThreadPriority, toThreadError } from './worker-support.ts'

// The scan thread (scanner.ts): its own read-only connection to the store's file, for the reads that
// must test rows one by one. WAL lets it read while the main connection commits.

const { filename } = workerData as { filename: string }

// Deliveries first: a scan runs on the CPU the acknowledgement path leaves (the commit's fsync waits, idle
// time, other cores). With ingest and a search loop sharing one core, ingest kept more throughput and a
// lower p99, and the searches still finished about as fast.
lowerThreadPriority()
const db = new Database(filename, { readonly: true, fileMustExist: true, timeout: 1000 })
// A scan reads each page once, so a big page cache would only hold memory: 1 MiB (better-sqlite3's default is 16).
db.pragma('cache_size = -1024')
registerFoldCase(db)

const prepare = statementCache(db)

// Page and total in one read transaction: both see the same snapshot, so they agree with each other.
const read = db.transaction((request: ScanRequest) => ({
  rows: prepare(request.page).all(request.params),
  total: request.total === undefined ? null : prepare(request.total).pluck().get(request.params) as number
}))

parentPort!.on('message', (request: ScanRequest) => {
  let reply: ScanReply
  try {
    reply = { id: request.id, ...read(request) }
  } catch (error) {
    reply = { id: request.id, error: toThreadError(error) }
  }
  parentPort!.postMessage(reply)
})

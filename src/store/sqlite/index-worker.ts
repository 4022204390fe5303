import { parentPort, workerData } from 'node:worker_threads'
import Database from 'better-sqlite3'
import { sameFile, identityOf } from './file-guard.ts'
import type { IndexReply, IndexRequest, IndexThreadData } from './index-thread.ts'
import { IndexWriter } from './indexer.ts'
import { registerFoldCase } from './search-text.ts'
import { lowerThreadPriority, toThreadError } from './worker-support.ts'

// The index thread (index-thread.ts): its own connection to the store's file, which writes the indexer's
// slices, so their 13–60 ms of SQLite work at a million rows never holds the event loop. The main thread
// pins its read snapshot and holds its own commits while a slice runs (SqliteStore), so nothing else
// writes meanwhile. Between slices, now and then, it also checkpoints the WAL, so that it can start over.

const { filename, identity, busyTimeoutMs, cacheSizeKiB, walAutocheckpointPages, lowPriority } = workerData as IndexThreadData

// Like the scan thread: it runs on the CPU the event loop leaves.
if (lowPriority) lowerThreadPriority()

// The file the store opened, not whatever the path names now: after the file was removed or replaced
// (file-guard.ts), a slice written here would be another database's, and the store would apply it to its own.
const same = () => sameFile(identityOf(filename), identity)
if (!same()) throw new Error('database file replaced')
const db = new Database(filename, { fileMustExist: true, timeout: busyTimeoutMs })
if (!same()) throw new Error('database file replaced')
db.pragma('journal_mode = WAL')
db.pragma('synchronous = FULL') // IndexWriter lowers it to NORMAL for its own transactions only
db.pragma(`wal_autocheckpoint = ${walAutocheckpointPages}`)
db.pragma(`cache_size = -${cacheSizeKiB}`)
registerFoldCase(db)
const writer = new IndexWriter(db)
parentPort!.postMessage({ ready: true } satisfies IndexReply)

parentPort!.on('message', (request: IndexRequest) => {
  let reply: IndexReply
  try {
    if ('checkpoint' in request) {
      db.pragma('wal_checkpoint(PASSIVE)')
      reply = { checkpointed: true }
    } else {
      reply = writer.write(request.maxRows)
    }
  } catch (error) {
    // better-sqlite3 rolls back when the body throws; a failed COMMIT can leave the transaction open.
    if (db.inTransaction) db.exec('ROLLBACK')
    reply = { error: toThreadError(error) }
  }
  parentPort!.postMessage(reply)
})

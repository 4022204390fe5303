import { parentPort, workerData } from 'node:worker_threads'
import Database from 'better-sqlite3'
import type { CheckpointThreadData } from './checkpointer.ts'

// The checkpoint thread (checkpointer.ts): its own connection to the store's file, which copies
// committed WAL frames into the database file every `intervalMs` (100 by default). A PASSIVE checkpoint
// never waits for, nor blocks, the main connection's commits; it syncs the WAL before copying and the
// database file after, as any SQLite checkpoint does. https://www.sqlite.org/c3ref/wal_checkpoint_v2.html

const { filename, intervalMs } = workerData as CheckpointThreadData

// Normal priority, unlike the scan thread's nice 19: starved of CPU, this thread would leave the copying
// to the main connection's backstop checkpoints, which run on the event loop.

const db = new Database(filename, { fileMustExist: true, timeout: 0 })
// A checkpoint reads WAL frames and writes the database file directly, so a page cache would only hold memory.
db.pragma('cache_size = -256')
db.pragma('synchronous = FULL')
parentPort!.postMessage('ready')

setInterval(() => {
  try {
    db.pragma('wal_checkpoint(PASSIVE)')
  } catch {
    // SQLITE_BUSY (another connection is checkpointing) or trouble with the file: the next tick tries
    // again, and the main connection's own autocheckpoint still bounds the WAL meanwhile.
  }
}, intervalMs)

/**
 * The durable floor: the least any server on this stack must do to acknowledge a delivery under the
 * durability promise, and nothing more. Bare Fastify, the signature check (lib/signature.ts), JSON.parse,
 * a group-committed insert (one transaction per event-loop turn, WAL, synchronous=FULL), then
 * {"status":"ok"} after the COMMIT. No validation, logging, metrics, read models or error mapping: a bound
 * for hookvault's ingest rate, not a server anyone should run. Two schemas (FLOOR_SCHEMA):
 *
 * - `store` (the default): the store's own save on the same kind of file, with the ts_key index every
 *   delivery passes through, its deferred indexing and its checkpoint thread off. What hookvault's
 *   design must pay at least.
 * - `pk`: better-sqlite3 and the contract's columns alone, `messages(message_id TEXT PRIMARY KEY, …)`
 *   with no other index, `INSERT … ON CONFLICT DO NOTHING`. What any durable server must pay at least,
 *   whatever its design. Needs a file holding that table (run.ts builds one from the seed).
 *
 * `npm run bench -- --breakdown` measures the store floor beside the bare baseline; `--floors` both
 * floors beside the baseline and the service. Env: DATABASE_URL, WEBHOOK_SECRET, PORT, FLOOR_SCHEMA.
 * GET /floor/created answers how many new rows it inserted, so a round's rows can be checked.
 */
import Database from 'better-sqlite3'
import Fastify from 'fastify'
import type { Message } from '../schemas/messages.ts'
import { parseDatabaseUrl } from '../src/lib/database-url.ts'
import { isValidSignature } from '../src/lib/signature.ts'
import { GroupCommit } from '../src/store/group-commit.ts'
import { SqliteStore } from '../src/store/sqlite/sqlite-store.ts'

const location = parseDatabaseUrl(process.env.DATABASE_URL ?? '')
if (location === null || location.engine !== 'sqlite' || location.filename === ':memory:') throw new Error('bench/floor.ts needs DATABASE_URL naming a database file (a copy of the seeded one)')
const secret = process.env.WEBHOOK_SECRET ?? ''
const schema = process.env.FLOOR_SCHEMA ?? 'store'
if (schema !== 'store' && schema !== 'pk') throw new Error('FLOOR_SCHEMA is store or pk')

interface Floor { save: (message: Message) => Promise<boolean>, close: () => Promise<void> }

function storeFloor (filename: string): Floor {
  // Rows stay unindexed: the floor's file is its own copy, thrown away after the run.
  const store = new SqliteStore({ filename, indexing: { auto: false }, tuning: { checkpointIntervalMs: 0 } })
  return { save: async (message) => (await store.save(message)) === 'created', close: () => store.close() }
}

function pkFloor (filename: string): Floor {
  const db = new Database(filename)
  db.pragma('journal_mode = WAL')
  db.pragma('synchronous = FULL')
  // The store's page cache (TUNING_DEFAULTS in sqlite-store.ts), so the two floors differ by their schema only.
  db.pragma('cache_size = -16000')
  const insert = db.prepare(`
    INSERT INTO messages (message_id, from_msisdn, to_msisdn, ts, text, created_at)
    VALUES (?, ?, ?, ?, ?, ?)
    ON CONFLICT (message_id) DO NOTHING`)
  const commitBatch = db.transaction((messages: Message[]) => {
    const createdAt = new Date().toISOString()
    return messages.map((m) => insert.run(m.message_id, m.from, m.to, m.ts, m.text ?? null, createdAt).changes === 1)
  })
  // The store's group commit (src/store/group-commit.ts): each promise settles after its batch's COMMIT.
  const group = new GroupCommit<Message, boolean>((messages) => commitBatch.immediate(messages))
  return {
    save: (message) => group.submit(message),
    close: async () => {
      group.flush()
      db.close()
    }
  }
}

const floor = schema === 'pk' ? pkFloor(location.filename) : storeFloor(location.filename)
let created = 0

const app = Fastify({ logger: false })
app.addContentTypeParser('application/json', { parseAs: 'buffer' }, (_request, body, done) => { done(null, body) })
app.post('/webhook', async (request, reply) => {
  const body = request.body as Buffer
  const header = request.headers['x-signature']
  if (!isValidSignature(secret, body, typeof header === 'string' ? header : undefined)) return reply.code(401).send({ detail: 'invalid signature' })
  if (await floor.save(JSON.parse(body.toString('utf8')) as Message)) created++
  return { status: 'ok' }
})
app.get('/health/ready', async () => ({ status: 'ready' }))
app.get('/floor/created', async () => ({ created }))
await app.listen({ port: Number(process.env.PORT ?? 8002), host: '127.0.0.1' })
process.on('SIGTERM', () => {
  app.close().then(() => floor.close()).then(() => process.exit(0), () => process.exit(1))
})

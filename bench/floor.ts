/**
 * The durable floor: the least any server on this stack must do to acknowledge a delivery under the
 * durability promise, and nothing more. Bare Fastify, the signature check (lib/signature.ts), JSON.parse,
 * and the store's own INSERT in a group commit (lib/group-commit.ts) on the same file, in WAL with
 * synchronous=FULL, then {"status":"ok"}. No validation, logging, metrics, read models, checkpoint thread
 * or error mapping: a bound for hookvault's ingest rate, not a server anyone should run.
 * `npm run bench -- --breakdown` measures it beside the bare baseline. Env: DATABASE_URL, WEBHOOK_SECRET, PORT.
 */
import Database from 'better-sqlite3'
import Fastify from 'fastify'
import type { Message } from '../schemas/messages.ts'
import { parseDatabaseUrl } from '../src/lib/database-url.ts'
import { GroupCommit } from '../src/lib/group-commit.ts'
import { isValidSignature } from '../src/lib/signature.ts'
import { instantKey } from '../src/lib/timestamp.ts'
import { INSERT_MESSAGE, TUNING_DEFAULTS } from '../src/store/sqlite/sqlite-store.ts'

const location = parseDatabaseUrl(process.env.DATABASE_URL ?? '')
if (location === null || location.filename === ':memory:') throw new Error('bench/floor.ts needs DATABASE_URL naming a database file (a copy of the seeded one)')
const secret = process.env.WEBHOOK_SECRET ?? ''

const db = new Database(location.filename)
db.pragma('journal_mode = WAL')
db.pragma('synchronous = FULL')
db.pragma(`cache_size = -${TUNING_DEFAULTS.cacheSizeKiB}`)
const insert = db.prepare(INSERT_MESSAGE)
const commitBatch = db.transaction((messages: Message[]) => {
  const createdAt = new Date().toISOString()
  return messages.map((m) => insert.run(m.message_id, m.from, m.to, m.ts, m.text, createdAt, instantKey(m.ts)).changes === 1)
})
const writes = new GroupCommit<Message, boolean>((messages) => commitBatch.immediate(messages))

const app = Fastify({ logger: false })
app.addContentTypeParser('application/json', { parseAs: 'buffer' }, (_request, body, done) => { done(null, body) })
app.post('/webhook', async (request, reply) => {
  const body = request.body as Buffer
  const header = request.headers['x-signature']
  if (!isValidSignature(secret, body, typeof header === 'string' ? header : undefined)) return reply.code(401).send({ detail: 'invalid signature' })
  await writes.submit(JSON.parse(body.toString('utf8')) as Message)
  return { status: 'ok' }
})
app.get('/health/ready', async () => ({ status: 'ready' }))
await app.listen({ port: Number(process.env.PORT ?? 8002), host: '127.0.0.1' })
process.on('SIGTERM', () => {
  app.close().then(() => { writes.flush(); db.close(); process.exit(0) }, () => process.exit(1))
})

/**
 * The durable floor: the least any server on this stack must do to acknowledge a delivery under the
 * durability promise, and nothing more. Bare Fastify, the signature check (lib/signature.ts), JSON.parse,
 * and the store's own save (group commit, WAL, synchronous=FULL) on the same kind of file, with its
 * deferred indexing and its checkpoint thread off, then {"status":"ok"}. No validation, logging, metrics,
 * read models or error mapping: a bound for hookvault's ingest rate, not a server anyone should run.
 * `npm run bench -- --breakdown` measures it beside the bare baseline. Env: DATABASE_URL, WEBHOOK_SECRET, PORT.
 */
import Fastify from 'fastify'
import type { Message } from '../schemas/messages.ts'
import { parseDatabaseUrl } from '../src/lib/database-url.ts'
import { isValidSignature } from '../src/lib/signature.ts'
import { SqliteStore } from '../src/store/sqlite/sqlite-store.ts'

const location = parseDatabaseUrl(process.env.DATABASE_URL ?? '')
if (location === null || location.engine !== 'sqlite' || location.filename === ':memory:') throw new Error('bench/floor.ts needs DATABASE_URL naming a database file (a copy of the seeded one)')
const secret = process.env.WEBHOOK_SECRET ?? ''
// Rows stay unindexed: the floor's file is its own copy, thrown away after the round.
const store = new SqliteStore({ filename: location.filename, indexing: { auto: false }, tuning: { checkpointIntervalMs: 0 } })

const app = Fastify({ logger: false })
app.addContentTypeParser('application/json', { parseAs: 'buffer' }, (_request, body, done) => { done(null, body) })
app.post('/webhook', async (request, reply) => {
  const body = request.body as Buffer
  const header = request.headers['x-signature']
  if (!isValidSignature(secret, body, typeof header === 'string' ? header : undefined)) return reply.code(401).send({ detail: 'invalid signature' })
  await store.save(JSON.parse(body.toString('utf8')) as Message)
  return { status: 'ok' }
})
app.get('/health/ready', async () => ({ status: 'ready' }))
await app.listen({ port: Number(process.env.PORT ?? 8002), host: '127.0.0.1' })
process.on('SIGTERM', () => {
  app.close().then(() => store.close()).then(() => process.exit(0), () => process.exit(1))
})

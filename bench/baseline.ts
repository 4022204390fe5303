/**
 * The yardstick: a bare Fastify server answering POST /webhook with {"status":"ok"}: Fastify's own
 * JSON parsing, no signature, no database, no logging, no metrics. PORT from the environment.
 */
import Fastify from 'fastify'

const app = Fastify({ logger: false })
app.post('/webhook', async () => ({ status: 'ok' }))
await app.listen({ port: Number(process.env.PORT ?? 8001), host: '127.0.0.1' })
process.on('SIGTERM', () => { app.close().then(() => process.exit(0), () => process.exit(1)) })

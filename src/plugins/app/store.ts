import fp from 'fastify-plugin'
import type { DatabaseLocation } from '../../lib/database-url.ts'
import { openStore } from '../../store/open-store.ts'
import type { MessageStore } from '../../store/port.ts'

declare module 'fastify' {
  interface FastifyInstance {
    store: MessageStore
  }
}

/**
 * Opens the configured store (running migrations) and closes it when the app closes. Fastify runs
 * onClose after the server stopped taking requests and in-flight ones finished, so pending writes
 * are committed before the database is released.
 */
export default fp<{ database: DatabaseLocation }>(async (fastify, options) => {
  const store = openStore(options.database)
  fastify.decorate('store', store)
  fastify.addHook('onClose', async () => {
    await store.close()
  })
}, { name: 'store' })

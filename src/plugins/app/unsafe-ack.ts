import fp from 'fastify-plugin'
import type { Message } from '../../../schemas/messages.ts'

/** How long acknowledged messages sit in memory before they are committed, in this mode only. */
const COMMIT_DELAY_MS = 250

/**
 * THE UNSAFE MODE. It exists only so the crash harness can prove it catches loss (test/chaos): it
 * answers POST /webhook with 200 first and commits a quarter of a second later, so a crash loses
 * acknowledged messages. app.ts registers it only when HOOKVAULT_UNSAFE_ACK_BEFORE_COMMIT holds the
 * exact confirmation value (config.ts refuses any other), and it says so at error level on start.
 * The store itself has no unsafe path: this wraps it from outside.
 */
export default fp(async (fastify) => {
  fastify.log.error({ variable: 'HOOKVAULT_UNSAFE_ACK_BEFORE_COMMIT' },
    'UNSAFE MODE ON: POST /webhook answers 200 BEFORE the commit; a crash loses acknowledged messages. Never use this in production.')
  const store = fastify.store
  const commit = store.save.bind(store)
  let pending: Message[] = []
  const flush = async () => {
    const batch = pending
    pending = []
    await Promise.allSettled(batch.map((message) => commit(message)))
  }
  const timer = setInterval(() => { flush().catch(() => {}) }, COMMIT_DELAY_MS)
  store.save = async (message) => {
    pending.push(message)
    return 'created'
  }
  fastify.addHook('onClose', async () => {
    clearInterval(timer)
    await flush()
  })
}, { name: 'unsafe-ack', dependencies: ['store'] })

import fp from 'fastify-plugin'
import rateLimit from '@fastify/rate-limit'
import { httpErrors } from '@fastify/sensible'
import { Type } from '../../../schemas/typebox.ts'
import { ErrorBody } from '../../../schemas/common.ts'
import type { RateLimit } from '../../config.ts'

/**
 * Optional per-client-IP rate limit for one route group (the webhook, or the read API), registered in
 * that group's encapsulated context in app.ts so the groups count separately. Off unless configured.
 * Over the limit: 429 {"detail":"rate limited"} with Retry-After, decided in onRequest, before any body
 * is read. Behind a proxy every client shares the proxy's IP: see docs/reliability.md.
 * https://github.com/fastify/fastify-rate-limit#options
 */
export default fp<{ limit: RateLimit | null }>(async (fastify, options) => {
  if (options.limit === null) return

  fastify.addHook('onRoute', (route) => {
    const schema = (route.schema ??= {}) as { response?: Record<string, unknown> }
    schema.response = { ...schema.response, 429: Type.Ref(ErrorBody) }
  })

  await fastify.register(rateLimit, {
    global: true,
    max: options.limit.max,
    timeWindow: options.limit.timeWindowMs,
    // The error handler turns this into {"detail":"rate limited"}; the plugin has set Retry-After already.
    errorResponseBuilder: () => httpErrors.tooManyRequests('rate limited')
  })
}, { name: 'rate-limit', dependencies: ['error-handler'] })

import fp from 'fastify-plugin'
import { Type } from '../../../schemas/typebox.ts'
import { ErrorBody } from '../../../schemas/common.ts'
import { bearerTokenChecker } from '../../lib/bearer-token.ts'
import { SECURITY } from '../external/swagger.ts'

/**
 * Optional bearer-token protection for the read API (GET /messages, GET /stats). Registered inside
 * the read API's encapsulated context in app.ts, so it covers those routes and nothing else: health,
 * metrics, docs and the signed webhook stay as they are. Without READ_API_TOKEN it does nothing.
 */
export default fp<{ token: string | null }>(async (fastify, options) => {
  if (options.token === null) return
  const isAuthorized = bearerTokenChecker(options.token)

  // Every protected route declares its 401 and the bearer scheme, so the OpenAPI page tells the truth.
  fastify.addHook('onRoute', (route) => {
    const schema = (route.schema ??= {}) as { response?: Record<string, unknown>, security?: unknown }
    schema.response = { ...schema.response, 401: Type.Ref(ErrorBody) }
    schema.security = [{ [SECURITY.readToken]: [] }]
  })

  fastify.addHook('onRequest', (request, reply, done) => {
    if (isAuthorized(request.headers.authorization)) return done()
    reply.code(401).header('www-authenticate', 'Bearer').send({ detail: 'unauthorized' })
  })
}, { name: 'read-auth' })

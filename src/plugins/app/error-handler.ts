import fp from 'fastify-plugin'
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify'
import { DETAIL_BY_STATUS, JsonSyntaxError, ValidationIssuesError, errors } from '../../errors.ts'
import { StoreUnavailableError } from '../../store/errors.ts'
import { locRoot, toValidationIssues } from '../../lib/validation-issues.ts'

const ALL_METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'] as const

/**
 * The one error handler and the one not-found handler. 4xx answers carry the contract's `detail`,
 * 422 the list of problems, 503 a Retry-After, and 5xx never a message or stack (those go to the
 * log with the request id).
 */
export default fp(async (fastify) => {
  fastify.setErrorHandler((error: FastifyError, request, reply) => {
    if (error.validation !== undefined) {
      return reply.code(422).send({ detail: toValidationIssues(error.validation, locRoot(error.validationContext)) })
    }
    if (error instanceof JsonSyntaxError) {
      return reply.code(422).send({ detail: [{ type: 'json_invalid', loc: ['body'], msg: error.message, input: error.input }] })
    }
    if (error instanceof ValidationIssuesError) {
      return reply.code(422).send({ detail: error.issues })
    }
    if (error instanceof StoreUnavailableError) {
      request.log.error({ err: error.cause ?? error }, `store unavailable: ${error.message}`)
      return reply.code(503).header('retry-after', String(error.retryAfterSeconds)).send({ detail: error.message })
    }
    const status = error.statusCode ?? 500
    if (status >= 400 && status < 500) {
      return reply.code(status).send({ detail: DETAIL_BY_STATUS[status] ?? error.message })
    }
    request.log.error({ err: error }, 'unhandled error')
    if (status === 503) reply.header('retry-after', '1')
    return reply.code(status >= 500 && status <= 599 ? status : 500).send({ detail: DETAIL_BY_STATUS[status] ?? 'internal error' })
  })

  fastify.setNotFoundHandler((request: FastifyRequest, reply: FastifyReply) => {
    // A known path with the wrong method is a 405 that says which methods would work.
    const path = request.url.split('?', 1)[0]!
    const allowed = ALL_METHODS.filter((method) => fastify.hasRoute({ url: path, method }))
    if (allowed.length > 0) {
      return reply.code(405).header('allow', allowed.join(', ')).send({ detail: errors.methodNotAllowed().message })
    }
    return reply.code(404).send({ detail: errors.notFound().message })
  })
}, { name: 'error-handler' })

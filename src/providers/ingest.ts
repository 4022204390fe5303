import type { FastifyInstance, FastifyReply, FastifyRequest, onRequestHookHandler, preValidationHookHandler } from 'fastify'
import type { ValidateFunction } from 'ajv'
import { ErrorBody, ValidationErrorBody, type ValidationIssue } from '../../schemas/common.ts'
import { Type, type TSchema } from '../../schemas/typebox.ts'
import { JsonSyntaxError, ValidationIssuesError, errors } from '../errors.ts'
import type { KeyUsed } from '../lib/keyring.ts'
import { toValidationIssues } from '../lib/validation-issues.ts'
import type { SignatureSource } from '../plugins/app/ingest-outcome.ts'
import type { BodyPath, MappingContext, Provider } from './provider.ts'

// The machinery every ingest route shares (POST /webhook and POST /webhooks/*): the raw-body capture,
// the ordered checks 413 → 401 → 415 → 422, and for providers the mapping and the one-commit save.
//
// Why raw bodies: Fastify parses bodies before `preValidation`, and its own parsers would answer
// 415/400 before any signature check, and would lose the exact bytes the signature covers. So an
// ingest context keeps every body as bytes (the body limit still applies while reading: 413), and
// the preValidation hooks decide in order; the last one hands the parsed body to Fastify's schema.

/** Replaces this encapsulated context's parsers with one that keeps any body as raw bytes. */
export function captureRawBody (fastify: FastifyInstance, bodyLimit: number): void {
  fastify.removeAllContentTypeParsers()
  fastify.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit }, (_request, body, done) => {
    done(null, body)
  })
}

/** The exact bytes received (empty when there was no body). Valid until the parse hook replaces the body. */
export const rawBodyOf = (request: FastifyRequest): Buffer => (request.body as unknown as Buffer | undefined) ?? Buffer.alloc(0)

const utf8 = new TextDecoder('utf-8', { fatal: true })

/** UTF-8 JSON, or a JsonSyntaxError (422 at ["body"]) saying why not. */
export function parseJsonBody (raw: Buffer): unknown {
  let text: string
  try {
    text = utf8.decode(raw)
  } catch {
    throw new JsonSyntaxError('Body is not valid UTF-8', raw.toString('utf8'))
  }
  try {
    return JSON.parse(text)
  } catch (error) {
    throw new JsonSyntaxError(`JSON decode error: ${(error as Error).message}`, text)
  }
}

export interface IngestChecks {
  /** Which scheme checked the signature over `raw`, and the key that matched (`none`: 401). */
  verify (request: FastifyRequest, raw: Buffer): { source: SignatureSource, key: KeyUsed }
  acceptsMediaType (contentType: string | undefined): boolean
  /** The body the route's schema validates next; throws JsonSyntaxError. */
  parse (request: FastifyRequest, raw: Buffer): unknown
}

/** The hooks of an ingest route, in the contract's order, for its route options. */
export function orderedChecks (fastify: FastifyInstance, checks: IngestChecks) {
  // Fastify answers 415 for a Content-Type it cannot parse ("", "x", "a/b c") before reading the body
  // or running any hook. Any unaccepted type ends in 415 anyway, but only after 413 and 401, so its
  // header is dropped here and the checks below see it as missing (found by test/fuzz/webhook.test.ts).
  const onRequest: onRequestHookHandler = (request, _reply, done) => {
    if (!checks.acceptsMediaType(request.headers['content-type'])) delete request.headers['content-type']
    done()
  }
  // 401 → 415 → 422 in one callback hook: one hook call per delivery, and no promise per check.
  // A check that throws ends the chain with its error (Fastify's hook runner catches it), like done(error).
  const preValidation: preValidationHookHandler = (request, _reply, done) => {
    const raw = rawBodyOf(request)
    const { source, key } = checks.verify(request, raw)
    fastify.ingestOutcome.signatureChecked(source, key)
    if (key === 'none') return done(errors.invalidSignature())
    if (!checks.acceptsMediaType(request.headers['content-type'])) return done(errors.unsupportedMediaType())
    let body: unknown
    try {
      body = checks.parse(request, raw)
    } catch (error) {
      return done(error as Error)
    }
    request.body = body as typeof request.body
    done()
  }
  return { onRequest, preValidation }
}

/** Problems of `value` against a compiled schema, located under `at` in the body. */
function issuesAt (validate: ValidateFunction, at: BodyPath): ValidationIssue[] {
  return toValidationIssues(validate.errors ?? [], 'body').map((issue) => ({ ...issue, loc: ['body', ...at, ...issue.loc.slice(1)] }))
}

/** The MappingContext of one delivery, validating with the app's body rules; compiled schemas are cached. */
function mappingContext (fastify: FastifyInstance, compiled: WeakMap<TSchema, ValidateFunction>, receivedAt: Date) {
  const issues: ValidationIssue[] = []
  const context: MappingContext = {
    receivedAt,
    check (schema, value, at) {
      let validate = compiled.get(schema)
      if (validate === undefined) {
        validate = fastify.compileBodyValidator(schema)
        compiled.set(schema, validate)
      }
      if (validate(value)) return true
      issues.push(...issuesAt(validate, at))
      return false
    }
  }
  return { context, issues }
}

/**
 * POST /webhooks/<source> for one provider: the ordered checks, the provider's body schema, its mapping,
 * then every message of the delivery in one commit (store.saveAll: all or none), and the 200 only
 * after that commit. A store failure is a 503 with Retry-After (the error handler), so the provider retries.
 */
export function deliveryRoute (fastify: FastifyInstance, provider: Provider, bodyLimit: number): void {
  const compiled = new WeakMap<TSchema, ValidateFunction>()
  // When each request arrived, before its body was read: Twilio's ts is the time of receipt.
  const receivedAt = new WeakMap<FastifyRequest, Date>()
  const noteArrival: onRequestHookHandler = (request, _reply, done) => {
    receivedAt.set(request, new Date())
    done()
  }
  const { onRequest, preValidation } = orderedChecks(fastify, {
    verify: (request, raw) => ({ source: provider.source, key: provider.verify(request, raw) }),
    acceptsMediaType: provider.acceptsMediaType,
    parse: (_request, raw) => provider.parse(raw)
  })
  fastify.post(`/webhooks/${provider.source}`, {
    bodyLimit,
    schema: {
      summary: provider.summary,
      description: provider.description,
      tags: ['providers'],
      consumes: provider.consumes,
      headers: provider.headers,
      body: provider.body,
      response: {
        200: { description: 'Stored (or already stored, or nothing to store): do not resend.', content: { [provider.ack.contentType]: { schema: provider.ack.schema } } },
        401: Type.Ref(ErrorBody),
        413: Type.Ref(ErrorBody),
        415: Type.Ref(ErrorBody),
        422: Type.Ref(ValidationErrorBody),
        503: Type.Ref(ErrorBody)
      }
    },
    onRequest: [noteArrival, onRequest],
    preValidation,
    onSend: (request: FastifyRequest, reply: FastifyReply, _payload: unknown, done: () => void) => {
      fastify.ingestOutcome.finishDelivery(request, provider.source, reply.statusCode)
      done()
    }
  }, async (request, reply) => {
    const { context, issues } = mappingContext(fastify, compiled, receivedAt.get(request) ?? new Date())
    const messages = provider.toMessages(request.body, context)
    if (issues.length > 0) throw new ValidationIssuesError(issues)
    const outcomes = messages.length === 0 ? [] : await fastify.store.saveAll(messages)
    fastify.ingestOutcome.deliverySaved(request, outcomes)
    return reply.type(provider.ack.contentType).send(provider.ack.body)
  })
}

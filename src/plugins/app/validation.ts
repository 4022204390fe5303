import fp from 'fastify-plugin'
import { Ajv, type Options, type ValidateFunction } from 'ajv'
import { TIMESTAMP_FORMAT } from '../../../schemas/common.ts'
import { rejectNonFinite } from '../../lib/finite-numbers.ts'
import { isTimestamp } from '../../lib/timestamp.ts'

const shared: Options = {
  allErrors: true, // one 422 entry per problem; inputs are bounded by BODY_LIMIT and the URL length
  verbose: true, // errors carry the offending value, echoed as `input`
  formats: { [TIMESTAMP_FORMAT]: { type: 'string', validate: isTimestamp } },
  strict: true,
  // Not checking our own static schemas against the JSON Schema meta-schema at every start saves each
  // instance compiling that meta-schema (~50 ms apiece, a tenth of start → ready). Strict mode still
  // refuses unknown keywords, types and formats while compiling, and test/docs/openapi.test.ts
  // validates the OpenAPI document built from every route schema.
  validateSchema: false
}

/**
 * Two ajv instances: bodies are JSON and keep their types (a numeric message_id is a 422, not a
 * string), while query strings, headers and params arrive as text and are coerced to the schema
 * (limit=10 → 10). Fastify's default compiler uses one coercing instance for every part.
 * https://fastify.dev/docs/latest/Reference/Validation-and-Serialization/
 */
declare module 'fastify' {
  interface FastifyInstance {
    /**
     * A validator with the rules request bodies get, for JSON that is checked after a route has parsed
     * it (the messages inside a provider delivery, providers/ingest.ts).
     */
    compileBodyValidator: (schema: object) => ValidateFunction
  }
}

/**
 * Whether coercing text against `schema` could produce a number, so rejectNonFinite has something to
 * check. Conservative: any mention of a numeric type, or a reference it cannot see through.
 * Header schemas (strings only) skip the wrapper: it copied every header into an array per request.
 */
function mayCoerceNumbers (schema: unknown): boolean {
  const text = JSON.stringify(schema)
  return text.includes('"number"') || text.includes('"integer"') || text.includes('"$ref"')
}

export default fp(async (fastify) => {
  const bodies = new Ajv({ ...shared, coerceTypes: false, useDefaults: false, removeAdditional: false })
  fastify.decorate('compileBodyValidator', (schema: object) => bodies.compile(schema))
  const textParts = new Ajv({ ...shared, coerceTypes: 'array', useDefaults: true, removeAdditional: true })
  fastify.setValidatorCompiler(({ schema, httpPart }) => {
    if (httpPart === 'body') return bodies.compile(schema)
    const validate = textParts.compile(schema)
    return mayCoerceNumbers(schema) ? rejectNonFinite(validate) : validate
  })
}, { name: 'validation' })

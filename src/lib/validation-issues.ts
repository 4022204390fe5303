import type { ErrorObject } from 'ajv'
import type { ValidationIssue } from '../../schemas/common.ts'
import { safeEcho } from './safe-echo.ts'

type Part = 'body' | 'query' | 'headers' | 'params'

const PARTS: Record<string, Part> = { body: 'body', querystring: 'query', headers: 'headers', params: 'params' }

/** Fastify's validationContext ("querystring", …) as the `loc` root the contract uses ("query", …). */
export const locRoot = (context: string | undefined): Part => PARTS[context ?? 'body'] ?? 'body'

const TYPE_NAMES: Record<string, string> = {
  string: 'string_type',
  integer: 'int_parsing',
  number: 'float_parsing',
  object: 'model_attributes_type',
  boolean: 'bool_parsing',
  array: 'list_type'
}

function describe (error: ErrorObject): { type: string, msg: string } {
  const p = error.params as Record<string, unknown>
  switch (error.keyword) {
    case 'required': return { type: 'missing', msg: 'Field required' }
    case 'type': {
      const expected = String(p.type).split(',')[0]!
      return { type: TYPE_NAMES[expected] ?? 'type_error', msg: `Input should be a valid ${expected}` }
    }
    case 'pattern': return { type: 'string_pattern_mismatch', msg: `String should match pattern '${String(p.pattern)}'` }
    case 'minLength': return { type: 'string_too_short', msg: `String should have at least ${String(p.limit)} character(s)` }
    case 'maxLength': return { type: 'string_too_long', msg: `String should have at most ${String(p.limit)} characters` }
    case 'minimum': return { type: 'greater_than_equal', msg: `Input should be greater than or equal to ${String(p.limit)}` }
    case 'maximum': return { type: 'less_than_equal', msg: `Input should be less than or equal to ${String(p.limit)}` }
    case 'format': return {
      type: 'datetime_format',
      msg: 'Input should be a real UTC instant formatted YYYY-MM-DDTHH:MM:SS[.fraction]Z'
    }
    default: return { type: error.keyword, msg: error.message ?? 'Invalid input' }
  }
}

/** JSON-pointer segments ("/a~1b/0") back to keys and indexes. */
function pointerToPath (pointer: string): Array<string | number> {
  if (pointer === '') return []
  return pointer.slice(1).split('/').map((segment) => {
    const key = segment.replaceAll('~1', '/').replaceAll('~0', '~')
    return /^(?:0|[1-9]\d*)$/.test(key) ? Number(key) : key
  })
}

/**
 * ajv errors (compiled with `verbose: true`, so each carries the offending `data`) as FastAPI-style
 * issues: one per problem, `loc` from the request part down to the field.
 */
export function toValidationIssues (errors: ErrorObject[], root: Part): ValidationIssue[] {
  return errors.map((error) => {
    const loc: Array<string | number> = [root, ...pointerToPath(error.instancePath)]
    if (error.keyword === 'required') loc.push(String((error.params as { missingProperty: string }).missingProperty))
    return { ...describe(error), loc, input: safeEcho(error.data ?? null) }
  })
}

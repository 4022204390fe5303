import type { ErrorObject, ValidateFunction } from 'ajv'

/**
 * ajv coerces a query value such as "1e400", "Infinity" or 400 nines to Infinity, and then skips
 * minimum/maximum, which only test finite numbers: `limit=1e400` would pass validation and reach
 * SQLite (a 5xx). This wraps a coercing validator so a number that came out non-finite is a `maximum`
 * error (422) like any other out-of-range value (test/fuzz/messages-query.test.ts keeps it so).
 */
export function rejectNonFinite (validate: ValidateFunction): ValidateFunction {
  const wrapped = ((data: unknown, ...rest: unknown[]) => {
    const valid = (validate as (...args: unknown[]) => boolean)(data, ...rest)
    wrapped.errors = validate.errors
    if (!valid || data === null || typeof data !== 'object') return valid
    const errors: ErrorObject[] = []
    for (const [key, value] of Object.entries(data)) {
      if (typeof value === 'number' && !Number.isFinite(value)) {
        const properties = (validate.schema as { properties?: Record<string, { maximum?: unknown }> }).properties
        const declared = properties?.[key]?.maximum
        const limit = typeof declared === 'number' ? declared : Number.MAX_SAFE_INTEGER
        errors.push({
          keyword: 'maximum',
          instancePath: `/${key.replaceAll('~', '~0').replaceAll('/', '~1')}`,
          schemaPath: `#/properties/${key}/maximum`,
          params: { comparison: '<=', limit },
          message: `must be <= ${limit}`,
          data: value
        })
      }
    }
    if (errors.length === 0) return true
    wrapped.errors = errors
    return false
  }) as ValidateFunction
  return Object.assign(wrapped, { schema: validate.schema, schemaEnv: validate.schemaEnv })
}

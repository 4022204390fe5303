import { Type, type Static } from './typebox.ts'

/** The `ts` wire format: the custom ajv format `timestamp` also checks that the date and time exist. */
export const TIMESTAMP_FORMAT = 'timestamp'

/** A `ts`-format string: YYYY-MM-DDTHH:MM:SS, optional 1-9 digit fraction, uppercase Z; the date must exist. */
export const timestamp = (description: string) => Type.String({
  format: TIMESTAMP_FORMAT,
  description: `${description} Format: YYYY-MM-DDTHH:MM:SS[.fraction]Z, UTC.`,
  examples: ['2025-01-15T10:00:00Z']
})

/** A phone number as providers send it: "+" then one or more ASCII digits, no length cap. */
export const msisdn = (description: string) => Type.String({
  pattern: '^\\+\\d+$',
  description: `${description} A "+" followed by ASCII digits.`,
  examples: ['+919876543210']
})

export const ErrorBody = Type.Object({
  detail: Type.String({ description: 'A short, stable, human-readable reason.' })
}, { $id: 'ErrorBody', description: 'Every non-422 error answer.' })
export type ErrorBody = Static<typeof ErrorBody>

export const ValidationIssue = Type.Object({
  type: Type.String({ description: 'Machine-readable kind of problem, e.g. missing, string_pattern_mismatch.' }),
  loc: Type.Array(Type.Union([Type.String(), Type.Integer()]), {
    description: 'Where the problem is: "body" or "query", then the field path.'
  }),
  msg: Type.String({ description: 'Human-readable explanation.' }),
  input: Type.Unknown({ description: 'The offending value (the enclosing object for a missing field).' })
}, { $id: 'ValidationIssue', description: 'One problem found in the request.' })
export type ValidationIssue = Static<typeof ValidationIssue>

export const ValidationErrorBody = Type.Object({
  detail: Type.Array(Type.Ref(ValidationIssue), { description: 'One entry per problem.' })
}, { $id: 'ValidationErrorBody', description: '422 answer: everything wrong with the request, in one go.' })
export type ValidationErrorBody = Static<typeof ValidationErrorBody>

/** Shared schemas registered with `addSchema`, so `$ref`s resolve and OpenAPI names components by `$id`. */
export const sharedSchemas = [ErrorBody, ValidationIssue, ValidationErrorBody]

import { httpErrors } from '@fastify/sensible'
import type { ValidationIssue } from '../schemas/common.ts'

/**
 * The error catalog: every error hookvault raises on purpose, with the exact `detail` the contract
 * promises. The error handler turns these (and Fastify's own errors) into response bodies.
 */
export const errors = {
  invalidSignature: () => httpErrors.unauthorized('invalid signature'),
  unsupportedMediaType: () => httpErrors.unsupportedMediaType('unsupported media type'),
  forbidden: () => httpErrors.forbidden('forbidden'),
  notFound: () => httpErrors.notFound('not found'),
  methodNotAllowed: () => httpErrors.methodNotAllowed('method not allowed')
}

/** Fixed details for statuses whose body the contract spells out, whatever raised them. */
export const DETAIL_BY_STATUS: Readonly<Record<number, string>> = {
  401: 'invalid signature',
  403: 'forbidden',
  404: 'not found',
  405: 'method not allowed',
  413: 'payload too large',
  415: 'unsupported media type',
  500: 'internal error'
}

/** The body was not UTF-8 JSON: a 422 located at the whole body. */
export class JsonSyntaxError extends Error {
  readonly input: string

  constructor (message: string, input: string) {
    super(message)
    this.name = 'JsonSyntaxError'
    this.input = input
  }
}

/** A body that parsed but whose content cannot become messages: a 422 listing every problem found. */
export class ValidationIssuesError extends Error {
  readonly issues: ValidationIssue[]

  constructor (issues: ValidationIssue[]) {
    super('the body does not map to valid messages')
    this.name = 'ValidationIssuesError'
    this.issues = issues
  }
}

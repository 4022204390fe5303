import fp from 'fastify-plugin'
import swagger from '@fastify/swagger'
import swaggerUi from '@fastify/swagger-ui'

/** Where the interactive page lives; the document is at `${DOCS_PREFIX}/json` (and `/yaml`). */
export const DOCS_PREFIX = '/docs'

const SIGNING = [
  '## Signing a delivery',
  'Every `POST /webhook` carries `X-Signature`: the **lowercase hex HMAC-SHA256 of the exact raw request body**, ' +
    'keyed with the server\'s `WEBHOOK_SECRET` (uppercase hex is accepted too). Sign the bytes you send, not a ' +
    're-serialised object: any change of whitespace or key order changes the signature.',
  '```sh\nBODY=\'{"message_id":"m1","from":"+919876543210","to":"+14155550100","ts":"2025-01-15T10:00:00Z","text":"Hello"}\'\n' +
    'SIG=$(printf \'%s\' "$BODY" | openssl dgst -sha256 -hmac "$WEBHOOK_SECRET" | awk \'{print $NF}\')\n' +
    'curl -X POST localhost:8000/webhook -H \'Content-Type: application/json\' -H "X-Signature: $SIG" -d "$BODY"\n```',
  '```js\nconst signature = require(\'node:crypto\').createHmac(\'sha256\', secret).update(rawBody).digest(\'hex\')\n```'
].join('\n\n')

const DESCRIPTION = [
  'Signed webhooks in, stored exactly once and durably, queryable out.',
  SIGNING,
  '## Errors',
  'Error answers are JSON: `{"detail": "…"}`, or for 422 `{"detail": [ {type, loc, msg, input}, … ]}`. ' +
    'A known path with a method it does not serve answers 405 with an `Allow` header (e.g. `GET /webhook`); ' +
    'an unknown path 404. Every request may carry `X-Request-Id`, echoed back (one is generated otherwise).'
].join('\n\n')

/** What each error status means, for answers whose body is the shared ErrorBody or ValidationErrorBody. */
const ERROR_MEANING: Readonly<Record<string, string>> = {
  401: 'The `X-Signature` header is missing, empty, not hex, of the wrong length or wrong: `{"detail":"invalid signature"}`. Nothing was stored.',
  413: 'The body is larger than `BODY_LIMIT` bytes: `{"detail":"payload too large"}`. Nothing was stored.',
  415: 'The `Content-Type` is missing or not JSON (`application/json` or `application/*+json`): `{"detail":"unsupported media type"}`.',
  422: 'The request is invalid: one entry per problem, `loc` naming `body` or `query` and the field.',
  429: 'Too many requests: slow down and retry after `Retry-After` seconds.',
  500: 'Unexpected failure: `{"detail":"internal error"}`, never a message or stack (the log has them, with the request id).',
  503: 'The store cannot answer right now (busy, full, read-only or shutting down): retry after `Retry-After` seconds. ' +
    'For `POST /webhook` nothing was acknowledged, so resending is safe.'
}

/** The same statuses on the providers' routes (/webhooks/*), whose signature headers and limits differ. */
const PROVIDER_ERROR_MEANING: Readonly<Record<string, string>> = {
  401: 'The provider\'s signature header is missing or matches none of its configured secrets: `{"detail":"invalid signature"}`. Nothing was stored.',
  403: 'The handshake failed (hub.mode is not subscribe, or hub.verify_token is not WHATSAPP_VERIFY_TOKEN): `{"detail":"forbidden"}`.',
  413: 'The body is larger than `PROVIDER_BODY_LIMIT` bytes: `{"detail":"payload too large"}`. Nothing was stored.',
  415: 'The `Content-Type` is missing or not the one this provider sends: `{"detail":"unsupported media type"}`.'
}

const GENERIC_BODIES = new Set(['#/components/schemas/ErrorBody', '#/components/schemas/ValidationErrorBody'])

interface OpenApiResponse {
  description?: string
  headers?: Record<string, unknown>
  content?: Record<string, { schema?: { $ref?: string } }>
}
interface OpenApiParameter { in: string, name: string, required?: boolean }
interface OpenApiOperation { parameters?: OpenApiParameter[], responses?: Record<string, OpenApiResponse> }

/** Statuses carrying Retry-After (src/plugins/app/error-handler.ts sets it on every 503). */
const RETRY_AFTER = {
  schema: { type: 'integer', minimum: 0 },
  description: 'Seconds to wait before retrying.'
}

/**
 * Touches up what the route schemas cannot say by themselves: a description per error status
 * instead of the shared body's one, Retry-After on 503/429, and X-Signature shown as required
 * (the route schema leaves it optional so that the signature check, which runs before validation,
 * answers 401 rather than 422).
 */
function describeOperations (paths: Record<string, Record<string, OpenApiOperation>>): void {
  for (const [path, operations] of Object.entries(paths)) {
    const meanings = path.startsWith('/webhooks/') ? { ...ERROR_MEANING, ...PROVIDER_ERROR_MEANING } : ERROR_MEANING
    for (const operation of Object.values(operations)) {
      // With Standard Webhooks on, POST /webhook takes X-Signature or webhook-signature: neither is required alone.
      const alternativeSignature = (operation.parameters ?? []).some((p) => p.in === 'header' && p.name === 'webhook-signature')
      for (const [status, response] of Object.entries(operation.responses ?? {})) {
        const ref = response.content?.['application/json']?.schema?.$ref
        if (ref !== undefined && GENERIC_BODIES.has(ref) && meanings[status] !== undefined) {
          response.description = meanings[status]
        }
        if (status === '503' || status === '429') response.headers = { 'Retry-After': RETRY_AFTER, ...response.headers }
      }
      for (const parameter of operation.parameters ?? []) {
        if (parameter.in === 'header' && parameter.name.toLowerCase() === 'x-signature') {
          parameter.name = 'X-Signature'
          parameter.required = !alternativeSignature
        }
      }
    }
  }
}

/**
 * OpenAPI 3 generated from the route schemas that also validate and serialise, so the document
 * cannot drift from the behaviour. Components are named by each schema's `$id`. The UI's assets are
 * served by the service itself (no CDN), so /docs works offline.
 * https://github.com/fastify/fastify-swagger#openapi
 */
export default fp(async (fastify) => {
  await fastify.register(swagger, {
    openapi: {
      openapi: '3.0.3',
      info: {
        title: 'hookvault',
        version: '0.1.0',
        description: DESCRIPTION
      },
      tags: [
        { name: 'webhook', description: 'Deliveries from providers' },
        { name: 'providers', description: 'Deliveries in a provider\'s own format (enabled by its settings)' },
        { name: 'messages', description: 'Reading what arrived' },
        { name: 'health', description: 'Probes for orchestrators' },
        { name: 'operations', description: 'Monitoring' }
      ]
    },
    refResolver: {
      buildLocalReference: (json, _baseUri, _fragment, i) => typeof json.$id === 'string' ? json.$id : `def-${i}`
    },
    // The one error handler answers 500 on any route; its body is the shared ErrorBody.
    transform: ({ schema, url }) => {
      if (schema === undefined || schema.hide === true) return { schema, url }
      const response = (schema.response ?? {}) as Record<string, unknown>
      if ('500' in response || '5xx' in response) return { schema, url }
      return { schema: { ...schema, response: { ...response, 500: { $ref: 'ErrorBody' } } }, url }
    },
    transformObject: (documentObject) => {
      const document = 'openapiObject' in documentObject ? documentObject.openapiObject : documentObject.swaggerObject
      describeOperations((document.paths ?? {}) as Record<string, Record<string, OpenApiOperation>>)
      return document
    }
  })
  await fastify.register(swaggerUi, {
    routePrefix: DOCS_PREFIX,
    uiConfig: { deepLinking: true, displayRequestDuration: true, tryItOutEnabled: false },
    theme: { title: 'hookvault API' }
  })
}, { name: 'swagger' })

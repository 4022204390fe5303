import fp from 'fastify-plugin'
import swagger from '@fastify/swagger'
import swaggerUi from '@fastify/swagger-ui'
import { DOCS_TITLE, FAVICON_SVG, LOGO_SVG, THEME_CSS } from './docs-branding.ts'

/** Where the interactive page lives; the document is at `${DOCS_PREFIX}/json` (and `/yaml`). */
export const DOCS_PREFIX = '/docs'

/**
 * Names of the OpenAPI security schemes, for the `security` of the routes they cover: the signature on
 * POST /webhook (src/routes/webhook.ts) and, only when READ_API_TOKEN is set, the bearer token on the
 * read API (src/plugins/app/read-auth.ts adds it to the routes it protects).
 */
export const SECURITY = { signature: 'signature', readToken: 'readToken' } as const

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

/** Error bodies exactly as the service sends them; test/docs/openapi.test.ts provokes each and compares. */
export const ERROR_EXAMPLES = {
  invalidSignature: { detail: 'invalid signature' },
  unauthorized: { detail: 'unauthorized' },
  notFound: { detail: 'not found' },
  methodNotAllowed: { detail: 'method not allowed' },
  payloadTooLarge: { detail: 'payload too large' },
  unsupportedMediaType: { detail: 'unsupported media type' },
  rateLimited: { detail: 'rate limited' },
  internal: { detail: 'internal error' },
  unavailable: { detail: 'database busy' },
  /** POST /webhook with `{"message_id":"m1","from":"+919876543210","ts":"2025-02-30T10:00:00Z","text":null}`. */
  invalidBody: {
    detail: [
      {
        type: 'missing',
        loc: ['body', 'to'],
        msg: 'Field required',
        input: { message_id: 'm1', from: '+919876543210', ts: '2025-02-30T10:00:00Z', text: null }
      },
      {
        type: 'datetime_format',
        loc: ['body', 'ts'],
        msg: 'Input should be a real UTC instant formatted YYYY-MM-DDTHH:MM:SS[.fraction]Z',
        input: '2025-02-30T10:00:00Z'
      }
    ]
  },
  /** GET /messages?limit=1000. */
  invalidQuery: {
    detail: [{ type: 'less_than_equal', loc: ['query', 'limit'], msg: 'Input should be less than or equal to 100', input: 1000 }]
  }
} as const

const json = (value: unknown) => '`' + JSON.stringify(value) + '`'

const DESCRIPTION = [
  'Signed webhooks in, stored exactly once and durably, queryable out.',
  SIGNING,
  '## Reading',
  '`GET /messages` and `GET /stats` are open unless the server sets `READ_API_TOKEN`; then they need ' +
    '`Authorization: Bearer <token>` (the **Authorize** button takes it) and answer 401 ' +
    `${json(ERROR_EXAMPLES.unauthorized)} without it. This page shows the running server's setting.`,
  '## Errors',
  'Error answers are JSON: `{"detail": "…"}`, or for 422 `{"detail": [ {type, loc, msg, input}, … ]}` with one entry ' +
    'per problem. Each operation below shows its error bodies; two answers belong to no operation:',
  `- an unknown path: 404 ${json(ERROR_EXAMPLES.notFound)}\n` +
    `- a known path with a method it does not serve (e.g. \`GET /webhook\`): 405 ${json(ERROR_EXAMPLES.methodNotAllowed)} ` +
    'with an `Allow` header naming the methods that work (`Allow: POST`).',
  'Every request may carry `X-Request-Id`, echoed back (one is generated otherwise).'
].join('\n\n')

interface ErrorAnswer { description: string, example: unknown }

/**
 * What each error status means and the body it carries, for answers whose schema is the shared
 * ErrorBody or ValidationErrorBody. 401 and 422 differ between the webhook and the read API.
 */
function errorAnswer (path: string, status: string): ErrorAnswer | undefined {
  const webhook = path === '/webhook'
  switch (status) {
    case '401': return webhook
      ? {
          description: `The \`X-Signature\` header is missing, empty, not hex, of the wrong length or wrong: ${json(ERROR_EXAMPLES.invalidSignature)}. Nothing was stored.`,
          example: ERROR_EXAMPLES.invalidSignature
        }
      : {
          description: `\`READ_API_TOKEN\` is set and the request lacks \`Authorization: Bearer <it>\`: ${json(ERROR_EXAMPLES.unauthorized)}, with \`WWW-Authenticate: Bearer\`.`,
          example: ERROR_EXAMPLES.unauthorized
        }
    case '413': return { description: `The body is larger than \`BODY_LIMIT\` bytes: ${json(ERROR_EXAMPLES.payloadTooLarge)}. Nothing was stored.`, example: ERROR_EXAMPLES.payloadTooLarge }
    case '415': return {
      description: `The \`Content-Type\` is missing or not JSON (\`application/json\` or \`application/*+json\`): ${json(ERROR_EXAMPLES.unsupportedMediaType)}. Nothing was stored.`,
      example: ERROR_EXAMPLES.unsupportedMediaType
    }
    case '422': return {
      description: 'The request is invalid: one entry per problem, `loc` naming `body` or `query` and the field ' +
        '(`["body"]` alone for a body that is not JSON).',
      example: webhook ? ERROR_EXAMPLES.invalidBody : ERROR_EXAMPLES.invalidQuery
    }
    case '429': return { description: `Too many requests from this client: ${json(ERROR_EXAMPLES.rateLimited)}; retry after \`Retry-After\` seconds.`, example: ERROR_EXAMPLES.rateLimited }
    case '500': return { description: `Unexpected failure: ${json(ERROR_EXAMPLES.internal)}, never a message or stack (the log has them, with the request id).`, example: ERROR_EXAMPLES.internal }
    case '503': return {
      description: `The store cannot answer right now (${json(ERROR_EXAMPLES.unavailable)}; also \`storage full\`, \`database read-only\`…), ` +
        'or the server sheds load (`server overloaded`): retry after `Retry-After` seconds.' +
        (webhook ? ' Nothing was acknowledged, so resending is safe.' : ''),
      example: ERROR_EXAMPLES.unavailable
    }
    default: return undefined
  }
}

/** The statuses whose meaning differs on the providers' routes (/webhooks/*): other signature headers and limits. */
const PROVIDER_ERROR_ANSWERS: Readonly<Record<string, ErrorAnswer>> = {
  401: {
    description: `The provider's signature header is missing or matches none of its configured secrets: ${json(ERROR_EXAMPLES.invalidSignature)}. Nothing was stored.`,
    example: ERROR_EXAMPLES.invalidSignature
  },
  403: {
    description: 'The handshake failed (hub.mode is not subscribe, or hub.verify_token is not WHATSAPP_VERIFY_TOKEN): `{"detail":"forbidden"}`.',
    example: { detail: 'forbidden' }
  },
  413: {
    description: `The body is larger than \`PROVIDER_BODY_LIMIT\` bytes: ${json(ERROR_EXAMPLES.payloadTooLarge)}. Nothing was stored.`,
    example: ERROR_EXAMPLES.payloadTooLarge
  },
  415: {
    description: `The \`Content-Type\` is missing or not the one this provider sends: ${json(ERROR_EXAMPLES.unsupportedMediaType)}.`,
    example: ERROR_EXAMPLES.unsupportedMediaType
  }
}

const GENERIC_BODIES = new Set(['#/components/schemas/ErrorBody', '#/components/schemas/ValidationErrorBody'])

interface OpenApiResponse {
  description?: string
  headers?: Record<string, unknown>
  content?: Record<string, { schema?: { $ref?: string }, example?: unknown }>
}
interface OpenApiParameter { in: string, name: string, required?: boolean }
interface OpenApiOperation { parameters?: OpenApiParameter[], responses?: Record<string, OpenApiResponse> }

/** Statuses carrying Retry-After (src/plugins/app/error-handler.ts sets it on every 503). */
const RETRY_AFTER = {
  schema: { type: 'integer', minimum: 0, example: 1 },
  description: 'Seconds to wait before retrying.'
}

/**
 * Touches up what the route schemas cannot say by themselves: a description and the real body as
 * the example per error status instead of the shared body's description, Retry-After on 503/429,
 * and X-Signature shown as required (the route schema leaves it optional so that the signature
 * check, which runs before validation, answers 401 rather than 422).
 */
function describeOperations (paths: Record<string, Record<string, OpenApiOperation>>): void {
  for (const [path, operations] of Object.entries(paths)) {
    const providerRoute = path.startsWith('/webhooks/')
    for (const operation of Object.values(operations)) {
      // With Standard Webhooks on, POST /webhook takes X-Signature or webhook-signature: neither is required alone.
      const alternativeSignature = (operation.parameters ?? []).some((p) => p.in === 'header' && p.name === 'webhook-signature')
      for (const [status, response] of Object.entries(operation.responses ?? {})) {
        const media = response.content?.['application/json']
        const ref = media?.schema?.$ref
        const answer = ref !== undefined && GENERIC_BODIES.has(ref)
          ? (providerRoute ? PROVIDER_ERROR_ANSWERS[status] : undefined) ?? errorAnswer(path, status)
          : undefined
        if (media !== undefined && answer !== undefined) {
          response.description = answer.description
          media.example = answer.example
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
export default fp<{ readApiToken: boolean }>(async (fastify, options) => {
  await fastify.register(swagger, {
    openapi: {
      openapi: '3.0.3',
      info: {
        title: DOCS_TITLE,
        version: '0.1.0',
        description: DESCRIPTION
      },
      components: {
        securitySchemes: {
          // Not a fixed key: a per-request HMAC of the body. apiKey-in-header is the OpenAPI 3.0 type
          // that names the header; the description says how to compute the value.
          [SECURITY.signature]: {
            type: 'apiKey',
            in: 'header',
            name: 'X-Signature',
            description: 'Lowercase hex HMAC-SHA256 of the exact raw request body, keyed with `WEBHOOK_SECRET` ' +
              '(see "Signing a delivery" above). A missing or wrong value answers 401 `{"detail":"invalid signature"}`.'
          },
          // Declared only when the server requires it, so the page never asks for a token nobody checks.
          ...(options.readApiToken
            ? {
                [SECURITY.readToken]: {
                  type: 'http',
                  scheme: 'bearer',
                  description: 'The server\'s `READ_API_TOKEN`, for `GET /messages` and `GET /stats`. Without it: 401 `{"detail":"unauthorized"}`.'
                }
              }
            : {})
        }
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
    uiConfig: { deepLinking: true, displayRequestDuration: true, tryItOutEnabled: false, persistAuthorization: false },
    theme: {
      title: DOCS_TITLE,
      favicon: [{ filename: 'favicon.svg', rel: 'icon', sizes: 'any', type: 'image/svg+xml', content: FAVICON_SVG }],
      css: [{ filename: 'hookvault.css', content: THEME_CSS }]
    },
    // Inlined by swagger-ui's initializer as a data: URL; the link goes back to this page.
    logo: { type: 'image/svg+xml', content: Buffer.from(LOGO_SVG), href: DOCS_PREFIX, target: '_self' }
  })
}, { name: 'swagger' })

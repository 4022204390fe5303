import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import type { FastifyRequest } from 'fastify'
import { ErrorBody, ValidationErrorBody } from '../../schemas/common.ts'
import { SignatureHeaders, StandardWebhookHeaders, WebhookAck, WebhookBody } from '../../schemas/webhook.ts'
import { Type } from '../../schemas/typebox.ts'
import type { StandardWebhooksConfig } from '../config.ts'
import { matchKey, type Keyring } from '../lib/keyring.ts'
import { isJsonMediaType } from '../lib/media-type.ts'
import { isValidSignature } from '../lib/signature.ts'
import { captureRawBody, orderedChecks, parseJsonBody, type IngestChecks } from '../providers/ingest.ts'
import { verifyStandardWebhook } from '../providers/standard-webhooks.ts'
import { SECURITY } from '../plugins/external/swagger.ts'

export interface WebhookRouteOptions {
  /** WEBHOOK_SECRET and its rotation companions. */
  webhookSecrets: Keyring
  /** Set when POST /webhook also accepts Standard Webhooks signatures. */
  standardWebhooks: StandardWebhooksConfig | null
  bodyLimit: number
}

const header = (request: FastifyRequest, name: string): string | undefined => {
  const value = request.headers[name]
  return typeof value === 'string' ? value : undefined
}

/**
 * POST /webhook, in the contract's order: 413 (body limit, enforced while reading) → 401 (signature
 * over the exact bytes) → 415 (content type) → 422 (JSON, then schema) → store → 200. The shared
 * ingest machinery (providers/ingest.ts) runs the checks; the outcome is recorded by
 * plugins/app/ingest-outcome.ts.
 */
const webhookRoutes: FastifyPluginAsyncTypebox<WebhookRouteOptions> = async (fastify, options) => {
  captureRawBody(fastify, options.bodyLimit)
  const standardWebhooks = options.standardWebhooks

  const checks: IngestChecks = {
    verify (request, raw) {
      const xSignature = request.headers['x-signature']
      // X-Signature decides when present; Standard Webhooks only when it is absent.
      if (xSignature === undefined && standardWebhooks !== null && request.headers['webhook-signature'] !== undefined) {
        const headers = { id: header(request, 'webhook-id'), timestamp: header(request, 'webhook-timestamp'), signature: header(request, 'webhook-signature') }
        const nowS = Math.floor(Date.now() / 1000)
        return { source: 'standard_webhooks', key: verifyStandardWebhook(standardWebhooks.keys, headers, raw, nowS, standardWebhooks.toleranceS) }
      }
      const signature = typeof xSignature === 'string' ? xSignature : undefined
      return { source: 'webhook', key: matchKey(options.webhookSecrets, (secret) => isValidSignature(secret, raw, signature)) }
    },
    acceptsMediaType: isJsonMediaType,
    parse (request, raw) {
      const body = parseJsonBody(raw)
      if (body !== null && typeof body === 'object' && typeof (body as { message_id?: unknown }).message_id === 'string') {
        fastify.ingestOutcome.webhookMessageId(request, (body as { message_id: string }).message_id)
      }
      return body
    }
  }

  fastify.post('/webhook', {
    bodyLimit: options.bodyLimit,
    schema: {
      summary: 'Receive a signed webhook',
      description: 'Stores the message exactly once (first write wins) and answers 200 only after it is durably ' +
        'committed. Checks run in order: 413 body too large, 401 bad signature, 415 not JSON, 422 invalid body.',
      tags: ['webhook'],
      security: [{ [SECURITY.signature]: [] }],
      consumes: ['application/json'],
      headers: standardWebhooks === null ? SignatureHeaders : StandardWebhookHeaders,
      body: WebhookBody,
      response: {
        200: Type.Ref(WebhookAck),
        401: Type.Ref(ErrorBody),
        413: Type.Ref(ErrorBody),
        415: Type.Ref(ErrorBody),
        422: Type.Ref(ValidationErrorBody),
        503: Type.Ref(ErrorBody)
      }
    },
    ...orderedChecks(fastify, checks),
    // A callback hook, not an async one: no promise per request on the hot path.
    onSend: (request, reply, payload, done) => {
      fastify.ingestOutcome.finishWebhook(request, reply.statusCode)
      done(null, payload)
    }
  }, async (request) => {
    const { message_id: messageId, from, to, ts, text } = request.body
    const outcome = await fastify.store.save({ message_id: messageId, from, to, ts, text: text ?? null })
    fastify.ingestOutcome.webhookSaved(request, messageId, outcome)
    return { status: 'ok' as const }
  })
}

export default webhookRoutes

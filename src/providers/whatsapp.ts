import { createHash, timingSafeEqual } from 'node:crypto'
import type { FastifyInstance } from 'fastify'
import { ErrorBody } from '../../schemas/common.ts'
import type { Message } from '../../schemas/messages.ts'
import { Type } from '../../schemas/typebox.ts'
import { WebhookAck } from '../../schemas/webhook.ts'
import {
  WhatsAppDelivery, WhatsAppMessagesValue, WhatsAppSignatureHeaders, type WhatsAppMessage
} from '../../schemas/whatsapp.ts'
import type { WhatsAppConfig } from '../config.ts'
import { errors } from '../errors.ts'
import { matchKey, type Keyring, type KeyUsed } from '../lib/keyring.ts'
import { isJsonMediaType } from '../lib/media-type.ts'
import { isValidSignature } from '../lib/signature.ts'
import { parseJsonBody } from './ingest.ts'
import type { Provider } from './provider.ts'

// WhatsApp Cloud API (Meta): verification and mapping of its webhook deliveries.
// https://developers.facebook.com/docs/graph-api/webhooks/getting-started (handshake, X-Hub-Signature-256)

const SIGNATURE_PREFIX = 'sha256='

/**
 * Which app secret signed `raw`: X-Hub-Signature-256 is `sha256=` then the hex HMAC-SHA256 of the exact
 * raw bytes (Meta escapes non-ASCII as \u00e9 in the body, so only the bytes as received verify).
 */
export function verifyMetaSignature (secrets: Keyring, raw: Buffer, header: string | undefined): KeyUsed {
  if (header === undefined || !header.startsWith(SIGNATURE_PREFIX)) return 'none'
  const hex = header.slice(SIGNATURE_PREFIX.length)
  return matchKey(secrets, (secret) => isValidSignature(secret, raw, hex))
}

/** Unix seconds (a decimal string) as YYYY-MM-DDTHH:MM:SSZ in UTC. */
export function unixSecondsToTs (seconds: string): string {
  return new Date(Number(seconds) * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z')
}

const CAPTIONED = new Set(['image', 'video', 'document'])

/** text.body of a text message, the caption of an image, video or document, else null. */
function textOf (message: WhatsAppMessage): string | null {
  if (message.type === 'text') return message.text?.body ?? null
  if (message.type !== undefined && CAPTIONED.has(message.type)) {
    return message[message.type as 'image' | 'video' | 'document']?.caption ?? null
  }
  return null
}

/** Equal strings, in time that depends on neither (both are hashed to the same length first). */
function sameSecret (a: string, b: string): boolean {
  return timingSafeEqual(createHash('sha256').update(a).digest(), createHash('sha256').update(b).digest())
}

const Handshake = Type.Object({
  'hub.mode': Type.Optional(Type.String({ description: '"subscribe".' })),
  'hub.verify_token': Type.Optional(Type.String({ description: 'Must equal WHATSAPP_VERIFY_TOKEN.' })),
  'hub.challenge': Type.Optional(Type.String({ description: 'Echoed back as the body.' }))
})

export function whatsappProvider (config: WhatsAppConfig): Provider {
  return {
    source: 'whatsapp',
    summary: 'Receive a WhatsApp Cloud API delivery',
    description: 'Meta\'s webhook for WhatsApp Business messages. Checks run in order: 413 over PROVIDER_BODY_LIMIT, ' +
      '401 unless X-Hub-Signature-256 matches, 415 not JSON, 422 not a whatsapp_business_account delivery or a message ' +
      'that does not map (loc points into the body). Every message of the delivery is stored in one commit ' +
      '(first write wins per id): message_id = id, from = "+" + from, to = "+" + the digits of ' +
      'metadata.display_phone_number, ts = timestamp as YYYY-MM-DDTHH:MM:SSZ, text = text.body or the caption of an ' +
      'image, video or document, else null. Status updates are ignored; a delivery without messages stores nothing.',
    headers: WhatsAppSignatureHeaders,
    consumes: ['application/json'],
    verify (request, raw) {
      const header = request.headers['x-hub-signature-256']
      return verifyMetaSignature(config.appSecrets, raw, typeof header === 'string' ? header : undefined)
    },
    acceptsMediaType: isJsonMediaType,
    parse: parseJsonBody,
    body: WhatsAppDelivery,
    toMessages (body, context) {
      const messages: Message[] = []
      ;(body as WhatsAppDelivery).entry.forEach((entry, e) => {
        (entry.changes ?? []).forEach((change, c) => {
          const value = change.value
          if (change.field !== 'messages' || value === null || typeof value !== 'object' || !('messages' in value)) return
          if (!context.check(WhatsAppMessagesValue, value, ['entry', e, 'changes', c, 'value'])) return
          const { metadata, messages: items } = value as WhatsAppMessagesValue
          const to = `+${metadata.display_phone_number.replace(/\D/g, '')}`
          for (const item of items) {
            messages.push({ message_id: item.id, from: `+${item.from}`, to, ts: unixSecondsToTs(item.timestamp), text: textOf(item) })
          }
        })
      })
      return messages
    },
    ack: { contentType: 'application/json; charset=utf-8', body: { status: 'ok' }, schema: Type.Ref(WebhookAck) },
    extraRoutes (fastify: FastifyInstance) {
      // Meta's subscription handshake: echo the challenge when the token matches, else 403.
      fastify.get('/webhooks/whatsapp', {
        schema: {
          summary: 'WhatsApp webhook verification handshake',
          description: 'Meta calls this when the webhook is configured: with hub.mode=subscribe and hub.verify_token equal ' +
            'to WHATSAPP_VERIFY_TOKEN, answers 200 text/plain with exactly hub.challenge; otherwise 403.',
          tags: ['providers'],
          querystring: Handshake,
          response: {
            200: { description: 'The challenge, verbatim.', content: { 'text/plain': { schema: Type.String() } } },
            403: Type.Ref(ErrorBody)
          }
        },
        // A malformed query (a repeated parameter) is just a failed handshake: 403, not 422.
        attachValidation: true,
        onRequest: (request, _reply, done) => {
          fastify.ingestOutcome.tag(request, 'whatsapp')
          done()
        }
      }, async (request, reply) => {
        const query = request.query as Record<string, string | undefined>
        const token = query['hub.verify_token']
        const challenge = query['hub.challenge']
        if (request.validationError !== undefined || query['hub.mode'] !== 'subscribe' || token === undefined ||
          challenge === undefined || !sameSecret(token, config.verifyToken)) {
          throw errors.forbidden()
        }
        return reply.type('text/plain; charset=utf-8').send(challenge)
      })
    }
  }
}

import { msisdn, timestamp } from './common.ts'
import { Type, type Static } from './typebox.ts'

export const MAX_TEXT_CODE_POINTS = 4096

export const WebhookBody = Type.Object({
  message_id: Type.String({ minLength: 1, description: 'Provider message id; the idempotency key (first write wins).' }),
  from: msisdn('Sender.'),
  to: msisdn('Recipient.'),
  ts: timestamp('When the provider says the message was sent; stored and returned byte for byte.'),
  text: Type.Optional(Type.Unsafe<string | null>({
    type: 'string',
    nullable: true,
    maxLength: MAX_TEXT_CODE_POINTS,
    description: `Message text, at most ${MAX_TEXT_CODE_POINTS} Unicode code points; null or absent when there is none.`
  }))
}, {
  $id: 'WebhookBody',
  description: 'A delivered message. Keys not listed here are accepted and ignored.',
  examples: [{ message_id: 'm1', from: '+919876543210', to: '+14155550100', ts: '2025-01-15T10:00:00Z', text: 'Hello' }]
})
export type WebhookBody = Static<typeof WebhookBody>

export const SignatureHeaders = Type.Object({
  'x-signature': Type.Optional(Type.String({
    description: 'Lowercase hex HMAC-SHA256 of the exact raw request body, keyed with WEBHOOK_SECRET ' +
      '(`openssl dgst -sha256 -hmac "$WEBHOOK_SECRET"`). Uppercase hex is accepted too.'
  }))
})

/** POST /webhook's headers when STANDARD_WEBHOOKS_SECRET is set: X-Signature, or the Standard Webhooks three. */
export const StandardWebhookHeaders = Type.Object({
  ...SignatureHeaders.properties,
  'webhook-id': Type.Optional(Type.String({ description: 'Standard Webhooks: the delivery id, part of the signed content.' })),
  'webhook-timestamp': Type.Optional(Type.String({
    description: 'Standard Webhooks: Unix seconds; refused when further from the server clock than STANDARD_WEBHOOKS_TOLERANCE_S.'
  })),
  'webhook-signature': Type.Optional(Type.String({
    description: 'Standard Webhooks, used when X-Signature is absent: space-separated `v1,<base64>` entries, each ' +
      'base64(HMAC-SHA256(key, `{webhook-id}.{webhook-timestamp}.{raw body}`)) with the key decoded from ' +
      'STANDARD_WEBHOOKS_SECRET (`whsec_<base64>`); entries of other versions are ignored.'
  }))
})

export const WebhookAck = Type.Object({
  status: Type.Literal('ok', { description: 'The message is durably stored (or was already).' })
}, { $id: 'WebhookAck', description: 'Stored, or a duplicate of a stored message: either way, do not resend.' })
export type WebhookAck = Static<typeof WebhookAck>

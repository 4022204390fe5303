import { MAX_TEXT_CODE_POINTS } from './webhook.ts'
import { Type, type Static } from './typebox.ts'

// WhatsApp Cloud API (Meta) webhook payloads, as far as hookvault reads them. Other keys are accepted
// and ignored. https://developers.facebook.com/docs/whatsapp/cloud-api/webhooks/components

const change = Type.Object({
  field: Type.Optional(Type.String({ description: 'What changed; only "messages" changes carry messages.' })),
  value: Type.Optional(Type.Unknown({ description: 'The change; for "messages", metadata plus messages and/or statuses.' }))
})

/** The envelope of every delivery: its problems are 422s before any message is looked at. */
export const WhatsAppDelivery = Type.Object({
  object: Type.Literal('whatsapp_business_account', { description: 'Always "whatsapp_business_account".' }),
  entry: Type.Array(Type.Object({
    id: Type.Optional(Type.String({ description: 'The WhatsApp Business Account id.' })),
    changes: Type.Optional(Type.Array(change, { description: 'What happened.' }))
  }), { description: 'One item per business account with changes.' })
}, {
  $id: 'WhatsAppDelivery',
  description: 'A WhatsApp Cloud API webhook delivery. Each `entry[].changes[]` with `field` "messages" contributes ' +
    'each of `value.messages[]`; `statuses` and other fields are ignored.'
})
export type WhatsAppDelivery = Static<typeof WhatsAppDelivery>

const withCaption = Type.Optional(Type.Object({
  caption: Type.Optional(Type.String({ maxLength: MAX_TEXT_CODE_POINTS, description: 'Becomes the message text.' }))
}))

/** One incoming message, with what it needs to become a stored message (the webhook's field rules, after mapping). */
export const WhatsAppMessage = Type.Object({
  id: Type.String({ minLength: 1, description: 'The wamid: becomes message_id.' }),
  from: Type.String({ pattern: '^\\d+$', description: 'Sender digits without "+": becomes from = "+" + from.' }),
  timestamp: Type.String({
    // Eleven digits at most: any such number of seconds is a real instant before the year 9999.
    pattern: '^\\d{1,11}$',
    description: 'Unix seconds as a decimal string: becomes ts, YYYY-MM-DDTHH:MM:SSZ in UTC.'
  }),
  type: Type.Optional(Type.String({ description: 'text, image, video, document, … : decides the text.' })),
  text: Type.Optional(Type.Object({
    body: Type.Optional(Type.String({ maxLength: MAX_TEXT_CODE_POINTS, description: 'The text of a "text" message.' }))
  })),
  image: withCaption,
  video: withCaption,
  document: withCaption
})
export type WhatsAppMessage = Static<typeof WhatsAppMessage>

/** The value of a "messages" change that carries messages. */
export const WhatsAppMessagesValue = Type.Object({
  metadata: Type.Object({
    display_phone_number: Type.String({ pattern: '\\d', description: 'The business number: its digits become to = "+" + digits.' })
  }),
  messages: Type.Array(WhatsAppMessage)
})
export type WhatsAppMessagesValue = Static<typeof WhatsAppMessagesValue>

export const WhatsAppSignatureHeaders = Type.Object({
  'x-hub-signature-256': Type.Optional(Type.String({
    description: '`sha256=` followed by the hex HMAC-SHA256 of the exact raw body, keyed with the Meta app secret ' +
      '(WHATSAPP_APP_SECRET, or one of WHATSAPP_APP_SECRET_PREVIOUS).'
  }))
})

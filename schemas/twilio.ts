import { MAX_TEXT_CODE_POINTS } from './webhook.ts'
import { Type, type Static } from './typebox.ts'

// Twilio Messaging webhook parameters, as far as hookvault reads them (all others are accepted and
// ignored). https://www.twilio.com/docs/messaging/guides/webhook-request

const address = (description: string) => Type.String({
  pattern: '^(?:whatsapp:)?\\+\\d+$',
  description: `${description} E.164 ("+" then digits), optionally prefixed "whatsapp:", which is removed.`
})

export const TwilioMessage = Type.Object({
  MessageSid: Type.String({ minLength: 1, description: 'Becomes message_id.' }),
  From: address('Sender.'),
  To: address('Recipient.'),
  Body: Type.Optional(Type.String({ maxLength: MAX_TEXT_CODE_POINTS, description: 'Becomes text; absent: null.' }))
}, {
  $id: 'TwilioMessage',
  description: 'An incoming message, form-encoded. A parameter hookvault reads may appear only once.'
})
export type TwilioMessage = Static<typeof TwilioMessage>

export const TwilioSignatureHeaders = Type.Object({
  'x-twilio-signature': Type.Optional(Type.String({
    description: 'base64(HMAC-SHA1(auth token, PUBLIC_BASE_URL + path + query + every parameter name and value sorted by name)).'
  }))
})

export const TWIML_EMPTY_RESPONSE = '<?xml version="1.0" encoding="UTF-8"?><Response></Response>'

// No `examples` here: OpenAPI 3.0 does not allow it inside a media type's schema.
export const TwiMLResponse = Type.String({
  description: `An empty TwiML response (${TWIML_EMPTY_RESPONSE}): stored, and no reply is sent.`
})

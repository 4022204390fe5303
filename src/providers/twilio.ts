import { createHmac, timingSafeEqual } from 'node:crypto'
import {
  TWIML_EMPTY_RESPONSE, TwiMLResponse, TwilioMessage, TwilioSignatureHeaders
} from '../../schemas/twilio.ts'
import type { TwilioConfig } from '../config.ts'
import { matchKey, type Keyring, type KeyUsed } from '../lib/keyring.ts'
import { isFormMediaType } from '../lib/media-type.ts'
import type { Provider } from './provider.ts'

// Twilio Messaging (SMS, and WhatsApp through Twilio): how a delivery is verified and what it means.
// https://www.twilio.com/docs/usage/security#validating-requests; the reference implementation is
// twilio-node's lib/webhooks/webhooks.ts (getExpectedTwilioSignature, validateRequest).

const BASE_URL = /^(https?):\/\/(\[[0-9A-Fa-f:.]+\]|[^\s/?#@:[\]]+)(?::(\d{1,5}))?(\/[^\s?#]*)?$/
const DEFAULT_PORT: Readonly<Record<string, string>> = { http: '80', https: '443' }

/**
 * PUBLIC_BASE_URL as the signed URLs start, without a trailing slash, or null when it is not
 * `scheme://host[:port][/prefix]` (http or https, no user, query or fragment). Kept byte for byte
 * otherwise: Twilio signs the URL exactly as it is configured on its side.
 */
export function parsePublicBaseUrl (value: string): string | null {
  const match = BASE_URL.exec(value)
  if (match === null) return null
  if (match[3] !== undefined && Number(match[3]) > 65535) return null
  // The pattern is the shape; the WHATWG parser also refuses hosts no client could call (bad IPv6, …).
  if (!URL.canParse(value)) return null
  return value.replace(/\/+$/, '')
}

/**
 * The base URL as configured, and the same with the scheme's default port added or removed:
 * twilio-node's validateRequest accepts both, because some Twilio paths sign with `:443` and some
 * without (https://github.com/twilio/twilio-node/blob/main/src/webhooks/webhooks.ts, addPort/removePort).
 */
export function baseUrlVariants (base: string): string[] {
  const match = BASE_URL.exec(base)
  if (match === null) return [base]
  const [, scheme, host, port, prefix = ''] = match as unknown as [string, string, string, string | undefined, string | undefined]
  const defaultPort = DEFAULT_PORT[scheme]!
  if (port === undefined) return [base, `${scheme}://${host}:${defaultPort}${prefix}`]
  if (port === defaultPort) return [base, `${scheme}://${host}${prefix}`]
  return [base]
}

/** A form body as name → values, in the order received. */
export type FormParams = Map<string, string[]>

/** application/x-www-form-urlencoded bytes, decoded as URLSearchParams (and so as browsers and Twilio) do. */
export function parseForm (raw: Buffer): FormParams {
  const params: FormParams = new Map()
  for (const [name, value] of new URLSearchParams(raw.toString('utf8'))) {
    const values = params.get(name)
    if (values === undefined) params.set(name, [value])
    else values.push(value)
  }
  return params
}

/**
 * What Twilio signs after the URL: every parameter name and value, sorted by name, concatenated. A
 * repeated name contributes each distinct value once, sorted, as twilio-node's toFormUrlEncodedParam does.
 */
export function signedParams (params: FormParams): string {
  let data = ''
  for (const name of [...params.keys()].sort()) {
    for (const value of [...new Set(params.get(name))].sort()) data += name + value
  }
  return data
}

/** base64(HMAC-SHA1(token, url + signedParams)): the X-Twilio-Signature of a delivery. */
export function twilioSignature (token: string, url: string, params: FormParams): string {
  return createHmac('sha1', token).update(url + signedParams(params), 'utf8').digest('base64')
}

/**
 * Which token signed this delivery, or `none`. `urls` are the public URL variants of the request (see
 * baseUrlVariants); each token is tried against each, every comparison in constant time.
 */
export function verifyTwilio (tokens: Keyring, urls: readonly string[], params: FormParams, header: string | undefined): KeyUsed {
  if (header === undefined || header === '') return 'none'
  const offered = Buffer.from(header)
  const data = signedParams(params)
  return matchKey(tokens, (token) => {
    let found = false
    for (const url of urls) {
      const expected = Buffer.from(createHmac('sha1', token).update(url + data, 'utf8').digest('base64'))
      if (expected.length === offered.length && timingSafeEqual(expected, offered)) found = true
    }
    return found
  })
}

/**
 * The form as the body schema sees it: a name given once maps to its value, a repeated name to the list
 * of its values, which the schema refuses for the parameters hookvault reads (which MessageSid or Body
 * would be meant?) and ignores for the others. The signature covers every value either way.
 */
function formToBody (params: FormParams): Record<string, string | string[]> {
  const body: Record<string, string | string[]> = {}
  for (const [name, values] of params) body[name] = values.length === 1 ? values[0]! : values
  return body
}

const withoutWhatsAppPrefix = (address: string): string => address.replace(/^whatsapp:/, '')

export function twilioProvider (config: TwilioConfig): Provider {
  const bases = baseUrlVariants(config.publicBaseUrl)
  return {
    source: 'twilio',
    summary: 'Receive a Twilio Messaging delivery (SMS, or WhatsApp through Twilio)',
    description: 'Twilio\'s incoming-message webhook, form-encoded. Checks run in order: 413 over PROVIDER_BODY_LIMIT, ' +
      '401 unless X-Twilio-Signature matches for PUBLIC_BASE_URL + the path and query as received (also with the ' +
      'scheme\'s default port added or removed), 415 not application/x-www-form-urlencoded, 422 unless MessageSid is ' +
      'non-empty, From and To (after a leading "whatsapp:") are "+" and digits, and Body has at most 4096 code points. ' +
      'Stored as message_id = MessageSid, text = Body (absent: null), ts = the time of receipt in UTC with milliseconds; ' +
      'a redelivery keeps the first. Answers an empty TwiML response, so no reply is sent.',
    headers: TwilioSignatureHeaders,
    consumes: ['application/x-www-form-urlencoded'],
    verify (request, raw) {
      const header = request.headers['x-twilio-signature']
      // request.url is the path and query exactly as received, which is what Twilio signed after the base.
      const urls = bases.map((base) => base + request.url)
      return verifyTwilio(config.authTokens, urls, parseForm(raw), typeof header === 'string' ? header : undefined)
    },
    acceptsMediaType: isFormMediaType,
    parse: (raw) => formToBody(parseForm(raw)),
    body: TwilioMessage,
    toMessages (body, context) {
      const form = body as TwilioMessage
      return [{
        message_id: form.MessageSid,
        from: withoutWhatsAppPrefix(form.From),
        to: withoutWhatsAppPrefix(form.To),
        ts: context.receivedAt.toISOString(),
        text: form.Body ?? null
      }]
    },
    ack: { contentType: 'text/xml; charset=utf-8', body: TWIML_EMPTY_RESPONSE, schema: TwiMLResponse }
  }
}

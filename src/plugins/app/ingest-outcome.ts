import fp from 'fastify-plugin'
import type { FastifyRequest } from 'fastify'
import promClient from 'prom-client'
import { CounterTally } from '../../lib/counter-tally.ts'
import { KEYS_USED, type KeyUsed } from '../../lib/keyring.ts'
import type { SaveOutcome } from '../../store/port.ts'

// The outcome of one ingest request (POST /webhook and every /webhooks/* delivery), in one place: the
// result names, how a status becomes a result, the fields the access log prints, and the metrics.
// Routes only report what they learned (signature key, message id, save outcomes); this module
// decides what that means once the answer is known.

/** Every `result` label of webhook_requests_total; 429 and 500 add `rejected` and `error`. */
export type WebhookResult =
  'created' | 'duplicate' | 'invalid_signature' | 'validation_error' |
  'payload_too_large' | 'unsupported_media_type' | 'unavailable' | 'rejected' | 'error'

/** Every `result` label of provider_deliveries_total, plus `rejected` (429) and `error` (500). */
export type DeliveryResult =
  'stored' | 'duplicate' | 'ignored' | 'invalid_signature' | 'validation_error' |
  'payload_too_large' | 'unsupported_media_type' | 'unavailable' | 'rejected' | 'error'

/** A provider with its own route under /webhooks/. */
export type ProviderSource = 'whatsapp' | 'twilio'

/** Who signed: `webhook` is X-Signature on POST /webhook, `standard_webhooks` its Standard Webhooks form. */
export type SignatureSource = 'webhook' | 'standard_webhooks' | ProviderSource

/** How a refused request ends, whatever route refused it. */
const FAILURE_BY_STATUS: Readonly<Record<number, WebhookResult & DeliveryResult>> = {
  401: 'invalid_signature',
  413: 'payload_too_large',
  415: 'unsupported_media_type',
  422: 'validation_error',
  429: 'rejected',
  503: 'unavailable'
}

const failureFor = (status: number) => FAILURE_BY_STATUS[status] ?? 'error'

/** The results that exist at 0 from the first scrape, so rate() and alerts work before any traffic. */
const INITIAL_WEBHOOK_RESULTS: WebhookResult[] = ['created', 'duplicate', 'invalid_signature', 'validation_error']
const INITIAL_DELIVERY_RESULTS: DeliveryResult[] = ['stored', 'duplicate', 'ignored', 'invalid_signature', 'validation_error']

/** What an ingest request's access log line adds. Never a secret or a signature. */
export interface IngestLogFields {
  source?: ProviderSource
  message_id?: string
  dup?: boolean
  result?: WebhookResult | DeliveryResult
  /** Deliveries to /webhooks/*: how many of its messages were new. */
  messages?: number
}

export interface IngestOutcome {
  /** A signature check ended with `key` (current, previous, or none for a refusal). */
  signatureChecked (source: SignatureSource, key: KeyUsed): void
  /** POST /webhook learned the delivery's message id (before validation, so failures log it too). */
  webhookMessageId (request: FastifyRequest, messageId: string): void
  /** POST /webhook stored, or found already stored, its message. */
  webhookSaved (request: FastifyRequest, messageId: string, outcome: SaveOutcome): void
  /** A provider delivery's messages were committed with these outcomes (empty: it had none). */
  deliverySaved (request: FastifyRequest, outcomes: readonly SaveOutcome[]): void
  /** onSend of POST /webhook: the result from the status, counted and logged. */
  finishWebhook (request: FastifyRequest, status: number): void
  /** onSend of a provider route: the result from the status and what was saved, counted and logged. */
  finishDelivery (request: FastifyRequest, source: ProviderSource, status: number): void
  /** Tags a non-delivery request of a provider route (the WhatsApp handshake) with its source. */
  tag (request: FastifyRequest, source: ProviderSource): void
}

declare module 'fastify' {
  interface FastifyRequest {
    /** Filled by ingest routes through `fastify.ingestOutcome`; the access log prints it. */
    ingest: IngestLogFields | null
  }
  interface FastifyInstance {
    ingestOutcome: IngestOutcome
  }
}

export interface IngestOutcomeOptions {
  /** Signature schemes that are configured: their signature_checks_total series start at 0. */
  signatureSources: readonly SignatureSource[]
  /** Providers whose routes exist: their provider_deliveries_total series start at 0. */
  providerSources: readonly ProviderSource[]
}

export default fp<IngestOutcomeOptions>(async (fastify, options) => {
  const registers = [fastify.metricsRegistry]
  // The two counters every delivery moves are counted in tallies, added at each scrape (lib/counter-tally.ts).
  const webhookTally = new CounterTally<'result'>()
  const signatureTally = new CounterTally<'source' | 'key'>()
  const webhookRequests = new promClient.Counter({
    name: 'webhook_requests_total',
    help: 'POST /webhook requests by outcome.',
    labelNames: ['result'] as const,
    registers,
    collect () { webhookTally.flush(this) }
  })
  const deliveries = new promClient.Counter({
    name: 'provider_deliveries_total',
    help: 'Deliveries to /webhooks/* by provider and outcome (stored: at least one new message).',
    labelNames: ['source', 'result'] as const,
    registers
  })
  const providerMessages = new promClient.Counter({
    name: 'provider_messages_total',
    help: 'Messages in stored provider deliveries, new (created) or already known (duplicate).',
    labelNames: ['source', 'result'] as const,
    registers
  })
  const signatureChecks = new promClient.Counter({
    name: 'signature_checks_total',
    help: 'Signature checks by scheme and the key that matched: current, previous (a rotation in progress) or none (refused).',
    labelNames: ['source', 'key'] as const,
    registers,
    collect () { signatureTally.flush(this) }
  })
  for (const result of INITIAL_WEBHOOK_RESULTS) webhookRequests.inc({ result }, 0)
  for (const source of options.providerSources) {
    for (const result of INITIAL_DELIVERY_RESULTS) deliveries.inc({ source, result }, 0)
    for (const result of ['created', 'duplicate']) providerMessages.inc({ source, result }, 0)
  }
  for (const source of options.signatureSources) {
    for (const key of KEYS_USED) signatureChecks.inc({ source, key }, 0)
  }

  // What a delivery's save returned, until its answer is sent; not a log field.
  const savedOutcomes = new WeakMap<FastifyRequest, readonly SaveOutcome[]>()

  const outcome: IngestOutcome = {
    signatureChecked (source, key) {
      signatureTally.increment(`${source} ${key}`, { source, key })
    },
    webhookMessageId (request, messageId) {
      request.ingest = { message_id: messageId }
    },
    webhookSaved (request, messageId, saved) {
      request.ingest = { message_id: messageId, dup: saved === 'duplicate' }
    },
    deliverySaved (request, outcomes) {
      savedOutcomes.set(request, outcomes)
    },
    finishWebhook (request, status) {
      const fields = request.ingest ?? {}
      const result: WebhookResult = status === 200
        ? (fields.dup === true ? 'duplicate' : 'created')
        : failureFor(status)
      request.ingest = { ...fields, dup: result === 'duplicate', result }
      webhookTally.increment(result, { result })
    },
    finishDelivery (request, source, status) {
      const outcomes = savedOutcomes.get(request) ?? []
      const created = outcomes.filter((saved) => saved === 'created').length
      let result: DeliveryResult
      if (status !== 200) result = failureFor(status)
      else if (outcomes.length === 0) result = 'ignored'
      else result = created > 0 ? 'stored' : 'duplicate'
      if (status === 200 && outcomes.length > 0) {
        if (created > 0) providerMessages.inc({ source, result: 'created' }, created)
        if (created < outcomes.length) providerMessages.inc({ source, result: 'duplicate' }, outcomes.length - created)
      }
      deliveries.inc({ source, result })
      request.ingest = { source, result, messages: status === 200 ? created : 0 }
    },
    tag (request, source) {
      request.ingest = { source }
    }
  }
  fastify.decorateRequest('ingest', null)
  fastify.decorate('ingestOutcome', outcome)
}, { name: 'ingest-outcome', dependencies: ['metrics'] })

import type { FastifyInstance, FastifyRequest } from 'fastify'
import type { Message } from '../../schemas/messages.ts'
import type { TSchema } from '../../schemas/typebox.ts'
import type { KeyUsed } from '../lib/keyring.ts'
import type { ProviderSource } from '../plugins/app/ingest-outcome.ts'

/** A path into the request body, as 422 `loc`s spell it after "body": keys and array indexes. */
export type BodyPath = ReadonlyArray<string | number>

/** Handed to `toMessages`: checks a part of the body against a schema, recording any problem at `at`. */
export interface MappingContext {
  /** True when `value` obeys `schema`; otherwise each problem is recorded (loc = body + `at` + field) and the delivery will be a 422. */
  check (schema: TSchema, value: unknown, at: BodyPath): boolean
  /** When the request arrived. */
  receivedAt: Date
}

/**
 * What a provider is to hookvault: how its deliveries are verified and how they map to messages. The
 * shared machinery (providers/ingest.ts) does the rest in the contract's order: 413 body limit → 401
 * `verify` → 415 `acceptsMediaType` → 422 `parse`, `body` schema, `toMessages` → one commit → `ack`.
 * A new provider is one module exporting a factory of this, listed in providers/index.ts.
 */
export interface Provider {
  /** The `source` label and the route: POST /webhooks/<source>. */
  source: ProviderSource
  /** OpenAPI: what the route is, and the signature header(s) it reads. */
  summary: string
  description: string
  headers: TSchema
  consumes: string[]
  /** Checks the signature over the exact received bytes (and URL, for schemes that sign it). */
  verify (request: FastifyRequest, raw: Buffer): KeyUsed
  acceptsMediaType (contentType: string | undefined): boolean
  /** The raw bytes as the `body` schema expects them; throws JsonSyntaxError when they cannot be read. */
  parse (raw: Buffer): unknown
  /** Validated by Fastify after `parse`: its problems are 422s located in the body. */
  body: TSchema
  /** The delivery's messages, in order; empty when it carries none (answered 200, nothing stored). */
  toMessages (body: unknown, context: MappingContext): Message[]
  /** The 200 answer the provider expects. */
  ack: { contentType: string, body: string | Record<string, unknown>, schema: TSchema }
  /** Other routes the provider needs (WhatsApp's subscription handshake), registered beside the POST. */
  extraRoutes? (fastify: FastifyInstance): void
}

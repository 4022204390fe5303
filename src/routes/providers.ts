import type { FastifyPluginAsync } from 'fastify'
import { captureRawBody, deliveryRoute } from '../providers/ingest.ts'
import type { Provider } from '../providers/provider.ts'

export interface ProviderRouteOptions {
  /** The enabled providers (providers/index.ts): each gets POST /webhooks/<source>. */
  providers: readonly Provider[]
  /** PROVIDER_BODY_LIMIT. */
  bodyLimit: number
}

/** /webhooks/*: one delivery route per enabled provider, plus any route it needs besides (WhatsApp's handshake). */
const providerRoutes: FastifyPluginAsync<ProviderRouteOptions> = async (fastify, options) => {
  captureRawBody(fastify, options.bodyLimit)
  for (const provider of options.providers) {
    deliveryRoute(fastify, provider, options.bodyLimit)
    provider.extraRoutes?.(fastify)
  }
}

export default providerRoutes

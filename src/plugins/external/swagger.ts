import fp from 'fastify-plugin'
import swagger from '@fastify/swagger'
import swaggerUi from '@fastify/swagger-ui'

/**
 * OpenAPI 3 generated from the route schemas that also validate and serialise, so the document
 * cannot drift from the behaviour. Components are named by each schema's `$id`. The UI's assets are
 * served by the service itself (no CDN), so /docs works offline.
 * https://github.com/fastify/fastify-swagger#openapi
 */
export default fp(async (fastify) => {
  await fastify.register(swagger, {
    openapi: {
      openapi: '3.0.3',
      info: {
        title: 'hookvault',
        version: '0.1.0',
        description: 'Signed webhooks in, stored exactly once and durably, queryable out.\n\n' +
          'Sign each POST /webhook with `X-Signature: hex(HMAC-SHA256(WEBHOOK_SECRET, raw body))`, e.g. ' +
          '`openssl dgst -sha256 -hmac "$WEBHOOK_SECRET" < body.json`.'
      },
      tags: [
        { name: 'webhook', description: 'Deliveries from providers' },
        { name: 'messages', description: 'Reading what arrived' },
        { name: 'health', description: 'Probes for orchestrators' },
        { name: 'operations', description: 'Monitoring' }
      ]
    },
    refResolver: {
      buildLocalReference: (json, _baseUri, _fragment, i) => typeof json.$id === 'string' ? json.$id : `def-${i}`
    }
  })
  await fastify.register(swaggerUi, { routePrefix: '/docs' })
}, { name: 'swagger' })

import fp from 'fastify-plugin'
import sensible from '@fastify/sensible'

/** HTTP error constructors and reply helpers. https://github.com/fastify/fastify-sensible */
export default fp(async (fastify) => {
  await fastify.register(sensible)
}, { name: 'sensible' })

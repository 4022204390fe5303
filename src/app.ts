import Fastify, { LogController, type FastifyInstance } from 'fastify'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import { sharedSchemas } from '../schemas/common.ts'
import { Live, NotReady, ReadinessChecks, Ready } from '../schemas/health.ts'
import { Message, MessagesPage } from '../schemas/messages.ts'
import { SenderCount, Stats } from '../schemas/stats.ts'
import { WebhookAck } from '../schemas/webhook.ts'
import { clientErrorHandler } from './http-parser-errors.ts'
import type { Config } from './config.ts'
import { requestIdFrom } from './lib/request-id.ts'
import { LogLines, stdoutLogLines } from './log-lines.ts'
import { loggerOptions } from './logger.ts'
import accessLog from './plugins/app/access-log.ts'
import appMetrics from './plugins/app/app-metrics.ts'
import errorHandler from './plugins/app/error-handler.ts'
import ingestOutcome from './plugins/app/ingest-outcome.ts'
import lifecycle from './plugins/app/lifecycle.ts'
import rateLimit from './plugins/app/rate-limit.ts'
import readAuth from './plugins/app/read-auth.ts'
import retention from './plugins/app/retention.ts'
import store from './plugins/app/store.ts'
import underPressure from './plugins/app/under-pressure.ts'
import unsafeAck from './plugins/app/unsafe-ack.ts'
import validation from './plugins/app/validation.ts'
import metrics from './plugins/external/metrics.ts'
import sensible from './plugins/external/sensible.ts'
import swagger from './plugins/external/swagger.ts'
import { enabledProviders, signatureSources } from './providers/index.ts'
import exportRoutes from './routes/export.ts'
import healthRoutes from './routes/health.ts'
import messagesRoutes from './routes/messages.ts'
import providerRoutes from './routes/providers.ts'
import statsRoutes from './routes/stats.ts'
import webhookRoutes from './routes/webhook.ts'

/** Response schemas shared by `$ref`: registered once, named by `$id` in the OpenAPI document. */
const SCHEMAS = [...sharedSchemas, WebhookAck, Message, MessagesPage, SenderCount, Stats, Live, Ready, ReadinessChecks, NotReady]

export interface BuildOptions {
  /** Where log lines go; stdout (src/log-lines.ts) when absent. Tests pass a stream to read them. */
  logStream?: NodeJS.WritableStream | LogLines
}

/** The only way to make a hookvault app: the server and every test call this. */
export async function buildApp (config: Config, options: BuildOptions = {}): Promise<FastifyInstance> {
  const logStream = options.logStream ?? stdoutLogLines()
  const app = Fastify({
    logger: { ...loggerOptions(config.logLevel), stream: logStream },
    // plugins/app/access-log.ts writes exactly one line per request, so Fastify's own are off.
    logController: new LogController({ disableRequestLogging: true, requestIdLogLabel: 'request_id' }),
    genReqId: (request) => requestIdFrom(request.headers['x-request-id']),
    bodyLimit: config.bodyLimit,
    return503OnClosing: false, // readiness reports the shutdown itself; in-flight keep-alive calls finish
    requestTimeout: 30_000, // a stalled client cannot hold a socket forever
    connectionTimeout: 60_000,
    // Slow-header clients are cut after 10 s, and the timeouts are enforced every 2 s, not Node's 30 s.
    http: { headersTimeout: 10_000, connectionsCheckingInterval: 2_000 },
    clientErrorHandler // malformed requests get {"detail":…} and a log line too
  }).withTypeProvider<TypeBoxTypeProvider>()
  const providers = enabledProviders(config) // only configured providers have routes

  for (const schema of SCHEMAS) app.addSchema(schema)

  // External infrastructure, then our own decorators and hooks, then the routes that use them.
  await app.register(sensible)
  // First, so its onRoute hook sees every route, /metrics included.
  await app.register(swagger, { readApiToken: config.readApiToken !== null })
  await app.register(metrics)
  await app.register(validation)
  await app.register(errorHandler)
  await app.register(ingestOutcome, { signatureSources: signatureSources(config, providers), providerSources: providers.map((p) => p.source) })
  await app.register(accessLog, { destination: logStream })
  await app.register(appMetrics, { droppedLogLines: () => logStream instanceof LogLines ? logStream.dropped : 0 })
  await app.register(lifecycle)
  await app.register(store, { database: config.database })
  await app.register(retention, config.retention)
  await app.register(underPressure, { maxEventLoopDelayMs: config.maxEventLoopDelayMs })
  if (config.unsafeAckBeforeCommit) await app.register(unsafeAck) // test-only, see plugins/app/unsafe-ack.ts

  await app.register(healthRoutes)
  // Route groups as encapsulated contexts: each has its own rate limit, and the read API its token.
  // Deliveries (POST /webhook and the providers' /webhooks/*) share the webhook group's limit.
  await app.register(async (webhookApi) => {
    await webhookApi.register(rateLimit, { limit: config.rateLimits.webhook })
    await webhookApi.register(webhookRoutes, {
      webhookSecrets: config.webhookSecrets, standardWebhooks: config.standardWebhooks, bodyLimit: config.bodyLimit
    })
    await webhookApi.register(providerRoutes, { providers, bodyLimit: config.providerBodyLimit })
  })
  await app.register(async (readApi) => {
    await readApi.register(rateLimit, { limit: config.rateLimits.read })
    await readApi.register(readAuth, { token: config.readApiToken })
    await readApi.register(messagesRoutes)
    await readApi.register(exportRoutes)
    await readApi.register(statsRoutes)
  })

  return app
}

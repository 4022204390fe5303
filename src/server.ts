import closeWithGrace from 'close-with-grace'
import pino from 'pino'
import { buildApp } from './app.ts'
import { ConfigError, loadConfig, type Config } from './config.ts'
import { loggerOptions } from './logger.ts'

let config: Config
try {
  config = loadConfig()
} catch (error) {
  const logger = pino(loggerOptions('info'))
  if (!(error instanceof ConfigError)) throw error
  logger.fatal({ variable: error.variable, accepted: error.accepted }, error.message)
  process.exit(1)
}

const app = await buildApp(config)

// SIGTERM/SIGINT: stop taking connections, let in-flight requests finish and pending writes commit,
// close the database, exit 0. A second signal or the grace period's end forces the exit.
closeWithGrace({ delay: config.shutdownGraceMs, logger: app.log }, async ({ signal, err }) => {
  if (err !== undefined) app.log.error({ err }, 'shutting down after an uncaught error')
  else app.log.info({ signal }, 'shutting down')
  await app.close()
  app.log.info('shutdown complete')
})

try {
  await app.listen({ port: config.port, host: config.host })
} catch (err) {
  app.log.fatal({ err }, 'could not start listening')
  await app.close()
  process.exit(1)
}

import { setTimeout } from 'node:timers/promises'
import closeWithGrace from 'close-with-grace'
import type { FastifyInstance } from 'fastify'
import pino from 'pino'
import { buildApp } from './app.ts'
import { ConfigError, environment, loadConfig, type Config } from './config.ts'
import { stdoutLogLines } from './log-lines.ts'
import { loggerOptions } from './logger.ts'

// Process entry: load config → buildApp → listen, and graceful shutdown. Standard output carries only
// JSON, so every way this process can fail to start ends in one JSON log line and exit 1,
// never a bare stack.

/** The signals that ask for a graceful shutdown (close-with-grace handles the rest the same way). */
const TERMINATING_SIGNALS = ['SIGTERM', 'SIGINT'] as const
/** How close together two identical signals count as one request (see onTerminatingSignal). */
const REPEATED_SIGNAL_MS = 500

/** Before the app's own logger exists (or when it cannot be trusted): one fatal JSON line, then exit 1. */
function failStart (fields: Record<string, unknown>, message: string): never {
  pino(loggerOptions('info'), stdoutLogLines()).fatal(fields, message)
  process.exit(1)
}

let config: Config
try {
  config = loadConfig(environment()) // with .env's variables under the real ones
} catch (error) {
  if (error instanceof ConfigError) failStart({ variable: error.variable, accepted: error.accepted }, error.message)
  failStart({ err: error }, 'could not read the configuration')
}

let app: FastifyInstance
try {
  app = await buildApp(config)
  await app.ready()
} catch (error) {
  // e.g. a DATABASE_URL whose directory cannot be created or whose file is not a database.
  failStart({ err: error }, `could not start: ${error instanceof Error ? error.message : String(error)}`)
}

// SIGTERM/SIGINT: readiness turns 503 at once (routes/health.ts) and, for SHUTDOWN_DRAIN_MS, requests
// are still served while load balancers notice; then the server stops accepting connections, in-flight
// requests finish, pending writes commit and the database closes (the store's onClose), then exit 0.
// A second signal, or SHUTDOWN_GRACE_MS running out, exits 1 at once. An uncaught error takes the same
// path (without the drain) and exits 1.
// https://github.com/mcollina/close-with-grace
const shutdown = closeWithGrace({
  delay: config.shutdownGraceMs,
  logger: app.log,
  skip: [...TERMINATING_SIGNALS], // handled below, to tell a repeated signal from a second one
  onSecondSignal: (signal) => { app.log.fatal({ signal }, 'second signal during shutdown, exiting now') },
  onSecondError: (err) => { app.log.fatal({ err }, 'another error during shutdown, exiting now') },
  onTimeout: (delay) => { app.log.fatal({ grace_ms: delay }, 'shutdown did not finish within the grace period, exiting now') }
}, async ({ signal, err }) => {
  if (err !== undefined) app.log.fatal({ err }, 'uncaught error, shutting down')
  else app.log.info({ signal: signal ?? firstSignal?.name ?? null, grace_ms: config.shutdownGraceMs, drain_ms: config.shutdownDrainMs }, 'shutting down')
  app.lifecycle.shuttingDown = true
  if (err === undefined && config.shutdownDrainMs > 0) await setTimeout(config.shutdownDrainMs)
  await app.close()
  app.log.info('shutdown complete')
})

// Ctrl-C on `npm start` reaches the server twice: from the terminal, which signals the whole foreground
// process group, and from npm, which forwards what it receives to its script. The same signal again
// within REPEATED_SIGNAL_MS is that one request; later, or another signal, is an operator's second.
let firstSignal: { name: NodeJS.Signals, at: number } | null = null
function onTerminatingSignal (name: NodeJS.Signals): void {
  if (firstSignal === null && !app.lifecycle.shuttingDown) {
    firstSignal = { name, at: performance.now() }
    shutdown.close() // its run() ends the process itself, whatever happens
    return
  }
  if (firstSignal !== null && name === firstSignal.name && performance.now() - firstSignal.at < REPEATED_SIGNAL_MS) return
  app.log.fatal({ signal: name }, 'second signal during shutdown, exiting now')
  process.exit(1)
}
for (const name of TERMINATING_SIGNALS) process.on(name, onTerminatingSignal)

try {
  await app.listen({ port: config.port, host: config.host })
} catch (error) {
  shutdown.uninstall()
  for (const name of TERMINATING_SIGNALS) process.removeListener(name, onTerminatingSignal)
  app.log.fatal({ err: error, host: config.host, port: config.port }, `could not listen on ${config.host}:${config.port}`)
  await app.close().catch((closeError: unknown) => { app.log.error({ err: closeError }, 'could not close after a failed start') })
  process.exit(1)
}

import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Writable } from 'node:stream'
import type { TestContext } from 'node:test'
import type { FastifyInstance } from 'fastify'
import { buildApp } from '../src/app.ts'
import { loadConfig, type Config } from '../src/config.ts'
import { sign } from '../src/lib/signature.ts'

export const SECRET = 'test-secret'

/**
 * Load shedding stays off unless a test turns it on (test/faults/pressure.test.ts): on a loaded machine
 * a test's own synchronous work can push the mean event-loop delay past the production threshold, and
 * an answer the test checks would be a 503 "server overloaded" instead.
 */
const NO_LOAD_SHEDDING = { PRESSURE_MAX_EVENT_LOOP_DELAY_MS: '999999' }

/** A Config as the server would load it, from an environment with test defaults. */
export function testConfig (env: Record<string, string> = {}): Config {
  return loadConfig({ WEBHOOK_SECRET: SECRET, DATABASE_URL: 'sqlite::memory:', LOG_LEVEL: 'error', ...NO_LOAD_SHEDDING, ...env })
}

/** A fresh temporary directory, removed when the test ends. */
export function tempDir (t: TestContext): string {
  const dir = mkdtempSync(join(tmpdir(), 'hookvault-test-'))
  t.after(() => rmSync(dir, { recursive: true, force: true }))
  return dir
}

export interface TestApp {
  app: FastifyInstance
  /** Every log line the app wrote, parsed. */
  logs: Array<Record<string, unknown>>
}

/** The real app via buildApp, on its own database (in memory unless DATABASE_URL says otherwise), closed after the test. */
export async function build (t: TestContext, env: Record<string, string> = {}): Promise<TestApp> {
  const logs: Array<Record<string, unknown>> = []
  const logStream = new Writable({
    write (chunk, _encoding, done) {
      for (const line of String(chunk).split('\n')) if (line !== '') logs.push(JSON.parse(line))
      done()
    }
  })
  const app = await buildApp(testConfig(env), { logStream })
  t.after(() => app.close())
  await app.ready()
  return { app, logs }
}

export interface Delivery {
  message_id?: unknown
  from?: unknown
  to?: unknown
  ts?: unknown
  text?: unknown
  [key: string]: unknown
}

export function message (overrides: Delivery = {}): Delivery {
  return { message_id: 'm1', from: '+919876543210', to: '+14155550100', ts: '2025-01-15T10:00:00Z', text: 'Hello', ...overrides }
}

/** POST /webhook signed like a provider would, unless headers say otherwise. */
export function deliver (app: FastifyInstance, body: Delivery | string | Buffer, headers: Record<string, string | undefined> = {}) {
  const payload = typeof body === 'string' || Buffer.isBuffer(body) ? body : JSON.stringify(body)
  const all: Record<string, string | undefined> = { 'content-type': 'application/json', 'x-signature': sign(SECRET, payload), ...headers }
  const defined = Object.fromEntries(Object.entries(all).filter(([, v]) => v !== undefined)) as Record<string, string>
  return app.inject({ method: 'POST', url: '/webhook', headers: defined, payload })
}

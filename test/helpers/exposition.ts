import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import type { FastifyInstance } from 'fastify'
import { deliver, message } from '../helper.ts'

/** One sample line of the Prometheus text format: `name{label="value",…} value`. */
export interface Sample {
  name: string
  labels: Record<string, string>
  value: number
}

export interface Exposition {
  samples: Sample[]
  /** `# TYPE` lines: metric family name → type. */
  types: Map<string, string>
}

const SAMPLE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)(?: \d+)?$/
const LABEL = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g

/**
 * A strict reader of the text format 0.0.4: a line it cannot read throws, so a malformed exposition
 * fails the test that reads it. https://prometheus.io/docs/instrumenting/exposition_formats/
 */
export function parseExposition (text: string): Exposition {
  const samples: Sample[] = []
  const types = new Map<string, string>()
  for (const line of text.split('\n')) {
    if (line === '') continue
    if (line.startsWith('#')) {
      const type = /^# TYPE (\S+) (\S+)$/.exec(line)
      if (type !== null) types.set(type[1]!, type[2]!)
      continue
    }
    const match = SAMPLE.exec(line)
    if (match === null) throw new Error(`not a sample line: ${JSON.stringify(line)}`)
    const labels: Record<string, string> = {}
    for (const [, key, value] of (match[2] ?? '').matchAll(LABEL)) labels[key!] = JSON.parse(`"${value!}"`)
    samples.push({ name: match[1]!, labels, value: Number(match[3]) })
  }
  return { samples, types }
}

/** The one sample with this name whose labels include `labels`; undefined when there is none. */
export function valueOf (exposition: Exposition, name: string, labels: Record<string, string> = {}): number | undefined {
  const found = exposition.samples.filter((sample) =>
    sample.name === name && Object.entries(labels).every(([key, value]) => sample.labels[key] === value))
  if (found.length > 1) throw new Error(`${found.length} samples of ${name} match ${JSON.stringify(labels)}`)
  return found[0]?.value
}

/** True when `command` runs here (`command --version` exits 0). */
export function hasCommand (command: string): boolean {
  return spawnSync(command, ['--version'], { stdio: 'ignore' }).status === 0
}

/**
 * The `skip` option for a test that needs `command`: false when it is installed, and also under CI
 * (CI=true, set by .ci/run), where the test then fails on the missing tool instead of skipping.
 */
export function skipWithout (command: string): false | string {
  if (hasCommand(command) || process.env.CI === 'true') return false
  return `SKIPPED LOUDLY: ${command} is not installed (Debian package \`prometheus\`); CI must have it`
}

/** Fails the running test when `command` is missing (only reached under CI, see skipWithout). */
export function requireCommand (command: string): void {
  assert.ok(hasCommand(command), `${command} is not installed, and CI must have it (Debian package \`prometheus\`)`)
}

/** One of each webhook outcome the contract names, plus reads, a 404 and a 405. */
export async function mixedTraffic (app: FastifyInstance): Promise<void> {
  const statuses = [
    (await deliver(app, message({ message_id: 'a' }))).statusCode,
    (await deliver(app, message({ message_id: 'b' }))).statusCode,
    (await deliver(app, message({ message_id: 'a' }))).statusCode,
    (await deliver(app, message(), { 'x-signature': '0'.repeat(64) })).statusCode,
    (await deliver(app, message({ from: 'nope' }))).statusCode,
    (await deliver(app, message({ text: 'x'.repeat(300) }))).statusCode,
    (await deliver(app, message(), { 'content-type': 'text/plain' })).statusCode,
    (await app.inject('/messages?limit=5&offset=0')).statusCode,
    (await app.inject('/stats')).statusCode,
    (await app.inject('/no/such/thing?x=1')).statusCode,
    (await app.inject({ method: 'DELETE', url: '/webhook' })).statusCode
  ]
  assert.deepEqual(statuses, [200, 200, 200, 401, 422, 413, 415, 200, 200, 404, 405])
}

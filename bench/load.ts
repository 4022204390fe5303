/**
 * The load generator, run in its own process (bench/run.ts pins it to its own core): signed
 * POST /webhook deliveries with unique ids from ~1,000 senders, through autocannon or wrk, over N
 * connections for D seconds, or (autocannon, --amount) exactly N deliveries as fast as they are answered.
 * The requests are signed before the clock starts, so signing costs the generator nothing during the run.
 * Prints one JSON line: requests/s, p50/p99 (ms), 2xx, non-2xx, and when the run started and ended
 * (epoch ms, so another process's samples can be placed against it).
 *
 * --ids counter (the default) sends `<prefix><n>`: consecutive keys land side by side in the primary-key
 * B-tree. --ids provider sends ids the way providers make them (bench/data.ts providerId): random, so
 * each insert lands somewhere else in the B-tree, which costs more.
 *
 *   node --import tsx bench/load.ts --url http://127.0.0.1:8000 --tool autocannon --seconds 10 --prefix r1- [--ids provider] [--amount 100000]
 */
import { spawn } from 'node:child_process'
import { writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import autocannon from 'autocannon'
import { sign } from '../src/lib/signature.ts'
import { random } from '../scripts/random.ts'
import { delivery, providerId } from './data.ts'

const { values } = parseArgs({
  options: {
    url: { type: 'string', default: 'http://127.0.0.1:8000' },
    tool: { type: 'string', default: 'autocannon' },
    seconds: { type: 'string', default: '10' },
    connections: { type: 'string', default: '50' },
    prefix: { type: 'string', default: `load-${process.pid}-` },
    secret: { type: 'string', default: 'bench-secret' },
    /** Requests to prepare: more than the run can send, so every id is new. */
    count: { type: 'string', default: '0' },
    /** Send exactly this many deliveries (autocannon only), instead of running for --seconds. */
    amount: { type: 'string', default: '0' },
    ids: { type: 'string', default: 'counter' },
    seed: { type: 'string', default: '2' }
  }
})
const seconds = Number(values.seconds)
const connections = Number(values.connections)
const amount = Number(values.amount)
if (amount > 0 && values.tool !== 'autocannon') throw new Error('--amount needs --tool autocannon')
if (values.ids !== 'counter' && values.ids !== 'provider') throw new Error('--ids is counter or provider')
const count = amount > 0 ? amount : Number(values.count) > 0 ? Number(values.count) : seconds * 50_000

const rnd = random(Number(values.seed))
// Ids from their own generator, seeded from the prefix too: each round (prefix) gets other ids, a rerun the
// same. Two mulberry32 streams summed: one has 32 bits of state, so another prefix's stream would be the same
// sequence shifted, and with ~10^7 draws per round, overlapping windows (repeated ids) would be likely within
// a run; two streams overlap only when both seeds differ by the same shift.
const idA = random(Number(values.seed) ^ hash(values.prefix))
const idB = random(Number(values.seed) ^ hash(`${values.prefix}#ids`))
const idRnd = () => (idA() + idB()) % 1
const startMs = Date.now()
const bodies: string[] = new Array(count)
const signatures: string[] = new Array(count)
for (let i = 0; i < count; i++) {
  // "Now", spread over the run, a second or so out of order.
  const message = delivery(rnd, values.prefix, i, startMs, (seconds * 1000) / count)
  if (values.ids === 'provider') message.message_id = providerId(idRnd)
  bodies[i] = JSON.stringify(message)
  signatures[i] = sign(values.secret, bodies[i]!)
}

/** FNV-1a of a string: a seed from the prefix. */
function hash (text: string): number {
  let h = 0x811c9dc5
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193)
  return h | 0
}

interface Summary { tool: string, rps: number, p50: number, p99: number, ok: number, non2xx: number, errors: number, sent: number, prepared: number, ids: string, startedAt: number, endedAt: number }

/** Wall-clock milliseconds with a fraction: comparable with another process's on this machine. */
const epochMs = () => performance.timeOrigin + performance.now()

async function runAutocannon (): Promise<Summary> {
  let next = 0
  const startedAt = epochMs()
  const result = await autocannon({
    url: values.url,
    connections,
    ...(amount > 0 ? { amount } : { duration: seconds }),
    requests: [{
      method: 'POST',
      path: '/webhook',
      setupRequest: (request) => {
        const i = next++ % count
        return { ...request, body: bodies[i], headers: { 'content-type': 'application/json', 'x-signature': signatures[i]! } }
      }
    }]
  })
  return {
    tool: 'autocannon',
    rps: result.requests.total / result.duration,
    p50: result.latency.p50,
    p99: result.latency.p99,
    ok: result['2xx'],
    non2xx: result.non2xx,
    errors: result.errors + result.timeouts,
    sent: next,
    prepared: count,
    ids: values.ids!,
    startedAt,
    endedAt: epochMs()
  }
}

/** wrk's summary in milliseconds: "1.23ms", "850.00us", "1.02s". */
function wrkMs (text: string): number {
  const m = /^([\d.]+)(us|ms|s|m)$/.exec(text)
  if (m === null) return Number.NaN
  return Number(m[1]) * ({ us: 0.001, ms: 1, s: 1000, m: 60_000 } as Record<string, number>)[m[2]!]!
}

async function runWrk (): Promise<Summary> {
  const file = join(tmpdir(), `hookvault-wrk-${process.pid}.tsv`)
  writeFileSync(file, bodies.map((body, i) => `${signatures[i]}\t${body}`).join('\n') + '\n')
  const threads = 1 // one core for the generator: a second thread would only contend for it
  const startedAt = epochMs()
  const child = spawn('wrk', ['-t', String(threads), '-c', String(connections), '-d', `${seconds}s`, '--latency',
    '-s', new URL('./wrk.lua', import.meta.url).pathname, values.url, '--', file, String(threads)])
  let out = ''
  child.stdout.on('data', (chunk) => { out += chunk })
  child.stderr.on('data', (chunk) => { out += chunk })
  const code = await new Promise((resolve) => child.on('exit', resolve))
  const endedAt = epochMs()
  if (code !== 0) throw new Error(`wrk failed: ${out}`)
  const total = Number(/(\d+) requests in/.exec(out)?.[1])
  const elapsed = wrkMs(/requests in ([\d.]+\w+),/.exec(out)?.[1] ?? '') / 1000
  const non2xx = Number(/Non-2xx or 3xx responses: (\d+)/.exec(out)?.[1] ?? 0)
  const socketErrors = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(out)
  return {
    tool: 'wrk',
    rps: total / elapsed,
    p50: wrkMs(/ 50%\s+(\S+)/.exec(out)?.[1] ?? ''),
    p99: wrkMs(/ 99%\s+(\S+)/.exec(out)?.[1] ?? ''),
    ok: total - non2xx,
    non2xx,
    errors: socketErrors === null ? 0 : socketErrors.slice(1).reduce((sum, n) => sum + Number(n), 0),
    sent: total,
    prepared: count,
    ids: values.ids!,
    startedAt,
    endedAt
  }
}

const summary = values.tool === 'wrk' ? await runWrk() : await runAutocannon()
process.stdout.write(JSON.stringify(summary) + '\n')

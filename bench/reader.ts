/**
 * A dashboard reading while deliveries arrive, in its own process (bench/burst.ts pins it to the load
 * generator's core, away from the server's): GETs one after another, round-robin over the query shapes
 * given, each with an x-request-id so the service's access-log line can be matched. Commands on stdin:
 *
 *   after <epoch ms>   keep reading until every shape has --after-runs requests issued since then, then
 *                      pause and print {"paused":<epoch ms>}
 *   rest               read again until every shape has --after-runs requests issued since the command,
 *                      then print every sample as one JSON line and exit
 *
 * It prints {"ready":true} once it has answers. Times are wall-clock epoch ms (performance.timeOrigin +
 * now), so they can be placed against the load generator's.
 *
 *   node --import tsx bench/reader.ts --url http://127.0.0.1:8000 --path /messages --path /stats [--after-runs 100]
 */
import { createInterface } from 'node:readline'
import { parseArgs } from 'node:util'

const { values } = parseArgs({
  options: {
    url: { type: 'string', default: 'http://127.0.0.1:8000' },
    path: { type: 'string', multiple: true, default: ['/messages'] },
    'after-runs': { type: 'string', default: '100' },
    tag: { type: 'string', default: 'burst' }
  }
})
const paths = values.path
const runs = Number(values['after-runs'])

export interface Sample { shape: number, id: string, start: number, end: number, status: number }

const epochMs = () => performance.timeOrigin + performance.now()
const samples: Sample[] = []
/** Counting from: `after`'s instant, then `rest`'s; null while only reading on. */
let countFrom: number | null = null
/** Requests per shape issued since countFrom. */
let counts = paths.map(() => 0)
/** An object, not a let: the command handler changes it between awaits, where TypeScript would narrow a let. */
const state: { phase: 'burst' | 'after' | 'rest' } = { phase: 'burst' }
let resume: (() => void) | null = null

createInterface({ input: process.stdin }).on('line', (line) => {
  const [command, argument] = line.trim().split(' ')
  if (command === 'after' && state.phase === 'burst') {
    state.phase = 'after'
    countFrom = Number(argument)
  } else if (command === 'rest' && state.phase === 'after') {
    state.phase = 'rest'
    countFrom = epochMs()
  } else {
    return
  }
  // The instant may lie in the past (the burst ended before its generator could say so): count what was issued since.
  counts = paths.map(() => 0)
  for (const s of samples) if (s.start >= countFrom) counts[s.shape]!++
  resume?.()
})

const enough = () => countFrom !== null && counts.every((n) => n >= runs)

for (let seq = 0; ; seq++) {
  const shape = seq % paths.length
  if (shape === 0 && enough()) {
    if (state.phase === 'rest') break
    process.stdout.write(JSON.stringify({ paused: epochMs() }) + '\n')
    await new Promise<void>((resolve) => { resume = resolve })
    resume = null
  }
  const id = `${values.tag}-${shape}-${seq}`
  const start = epochMs()
  let status = 0
  try {
    const response = await fetch(values.url + paths[shape], { headers: { 'x-request-id': id } })
    await response.arrayBuffer()
    status = response.status
  } catch {}
  samples.push({ shape, id, start, end: epochMs(), status })
  if (countFrom !== null && start >= countFrom) counts[shape]!++
  if (seq === paths.length - 1) process.stdout.write(JSON.stringify({ ready: true }) + '\n')
}
process.stdout.write(JSON.stringify({ samples }) + '\n')
process.exit(0)

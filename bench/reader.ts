/**
 * A dashboard reading while deliveries arrive, in its own process (bench/burst.ts pins it to the load
 * generator's core, away from the server's): GETs one after another, round-robin over the query shapes
 * given (--path), each with an x-request-id so the service's access-log line can be matched. Shapes given
 * for information (--info-path, numbered after the others) join the round only after a pause of --info-every
 * ms or four times their last duration, whichever is longer (so they take at most a fifth of the reader's
 * time), and never hold a phase open: a slow one (a scan of seconds) would otherwise leave the others few
 * samples and stretch the phase after the burst. Commands on stdin:
 *
 *   after <epoch ms>   keep reading until every --path shape has --after-runs requests issued since then, then
 *                      pause and print {"paused":<epoch ms>}
 *   rest               read again until every --path shape has --after-runs requests issued since the command,
 *                      then print every sample as one JSON line and exit
 *
 * It prints {"ready":true} once it has answers. Times are wall-clock epoch ms (performance.timeOrigin +
 * now), so they can be placed against the load generator's.
 *
 *   node --import tsx bench/reader.ts --url http://127.0.0.1:8000 --path /messages --path /stats [--info-path '/messages?q=the'] [--after-runs 100]
 */
import { createInterface } from 'node:readline'
import { parseArgs } from 'node:util'

const { values } = parseArgs({
  options: {
    url: { type: 'string', default: 'http://127.0.0.1:8000' },
    path: { type: 'string', multiple: true, default: ['/messages'] },
    'info-path': { type: 'string', multiple: true, default: [] },
    'info-every': { type: 'string', default: '1000' },
    'after-runs': { type: 'string', default: '100' },
    tag: { type: 'string', default: 'burst' }
  }
})
const paths = values.path
const infoPaths = values['info-path']
const infoEveryMs = Number(values['info-every'])
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
  for (const s of samples) if (s.start >= countFrom && s.shape < paths.length) counts[s.shape]!++
  resume?.()
})

const enough = () => countFrom !== null && counts.every((n) => n >= runs)

async function request (shape: number, path: string, seq: number): Promise<number> {
  const id = `${values.tag}-${shape}-${seq}`
  const start = epochMs()
  let status = 0
  try {
    const response = await fetch(values.url + path, { headers: { 'x-request-id': id } })
    await response.arrayBuffer()
    status = response.status
  } catch {}
  samples.push({ shape, id, start, end: epochMs(), status })
  return start
}

let nextInfo = 0
let info = 0
for (let seq = 0; ; seq++) {
  const shape = seq % paths.length
  if (shape === 0 && enough()) {
    if (state.phase === 'rest') break
    process.stdout.write(JSON.stringify({ paused: epochMs() }) + '\n')
    await new Promise<void>((resolve) => { resume = resolve })
    resume = null
  }
  if (shape === 0 && infoPaths.length > 0 && epochMs() >= nextInfo) {
    const started = await request(paths.length + info, infoPaths[info]!, seq)
    const ended = epochMs()
    nextInfo = ended + Math.max(infoEveryMs, 4 * (ended - started))
    info = (info + 1) % infoPaths.length
  }
  const start = await request(shape, paths[shape]!, seq)
  if (countFrom !== null && start >= countFrom) counts[shape]!++
  if (seq === paths.length - 1) process.stdout.write(JSON.stringify({ ready: true }) + '\n')
}
// Exit once the line is written: stdout is a pipe, and an exit at once would cut a long line short.
process.stdout.write(JSON.stringify({ samples }) + '\n', () => process.exit(0))

import assert from 'node:assert/strict'
import { closeSync, openSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { test } from 'node:test'
import { LogLines } from '../src/log-lines.ts'
import { tempDir } from './helper.ts'

// The log destination on a plain file descriptor; the closed-pipe case on the real process is in
// test/process/closed-stdout.test.ts.

const turn = () => new Promise((resolve) => setImmediate(resolve))

test('lines of one turn are written together, in order; flushSync writes what is pending', async (t) => {
  const file = join(tempDir(t), 'log')
  const fd = openSync(file, 'w')
  t.after(() => closeSync(fd))
  const lines = new LogLines(fd)
  lines.write('{"n":1}\n')
  lines.write('{"n":2}\n')
  assert.equal(readFileSync(file, 'utf8'), '', 'nothing written before the turn ends')
  await turn()
  assert.equal(readFileSync(file, 'utf8'), '{"n":1}\n{"n":2}\n')
  lines.write('{"n":3}\n')
  lines.flushSync() // what the exit handler does: no turn left to wait for
  assert.equal(readFileSync(file, 'utf8'), '{"n":1}\n{"n":2}\n{"n":3}\n')
  assert.equal(lines.dropped, 0)
})

test('once a write fails, that batch and every later line are dropped and counted, and nothing throws', async (t) => {
  const file = join(tempDir(t), 'log')
  writeFileSync(file, '')
  const fd = openSync(file, 'r') // writes fail with EBADF, as they fail with EPIPE once a pipe's reader has gone
  t.after(() => closeSync(fd))
  const lines = new LogLines(fd)
  lines.write('{"n":1}\n')
  lines.write('{"n":2}\n')
  await turn()
  assert.equal(lines.dropped, 2)
  lines.write('{"n":3}\n')
  lines.flushSync()
  await turn()
  assert.equal(lines.dropped, 3)
})

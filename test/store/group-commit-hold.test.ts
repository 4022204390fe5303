import assert from 'node:assert/strict'
import { test } from 'node:test'
import { GroupCommit } from '../../src/store/group-commit.ts'

const turn = () => new Promise((resolve) => setImmediate(resolve))

/** A group commit whose batches are recorded, each item committed as itself. */
function recording<T> () {
  const batches: T[][] = []
  const commits = new GroupCommit<T, T>((items) => {
    batches.push(items)
    return items
  })
  return { batches, commits }
}

test('while held, submissions queue and flush commits nothing; release commits them as one batch', async () => {
  const { batches, commits } = recording<number>()
  commits.hold()
  const settled: number[] = []
  const all = Promise.all([1, 2].map((n) => commits.submit(n).then((v) => settled.push(v))))
  await turn()
  commits.flush()
  await turn()
  assert.deepEqual(batches, [])
  assert.deepEqual(settled, [])
  assert.equal(commits.pendingCount, 2)
  const three = commits.submit(3)
  commits.release()
  assert.deepEqual(batches, [], 'release commits at the next check phase, not inside the caller')
  await all
  assert.equal(await three, 3)
  assert.deepEqual(batches, [[1, 2, 3]])
})

test('release with nothing queued commits nothing; later submissions commit as usual', async () => {
  const { batches, commits } = recording<string>()
  commits.hold()
  commits.release()
  await turn()
  assert.deepEqual(batches, [])
  assert.equal(await commits.submit('a'), 'a')
  assert.deepEqual(batches, [['a']])
})

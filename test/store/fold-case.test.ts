import assert from 'node:assert/strict'
import { test } from 'node:test'
import { foldCase } from '../../src/store/fold-case.ts'

test('case folding joins upper and lower case, non-ASCII included', () => {
  assert.equal(foldCase('É'), foldCase('é'))
  assert.equal(foldCase('HELLO Wörld'), 'hello wörld')
  assert.equal(foldCase('ΟΔΟΣ').includes(foldCase('σ')), true)
  assert.equal(foldCase('%_'), '%_')
})

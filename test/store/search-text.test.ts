import assert from 'node:assert/strict'
import { test } from 'node:test'
import { GramCounter, codePoints, isIndexable, prefixUpperBound } from '../../src/store/sqlite/search-text.ts'

/** The plain definition: each text's distinct substrings of 1 and 2 code points, added up over texts. */
function naiveGrams (texts: string[]): Map<string, number> {
  const counts = new Map<string, number>()
  for (const text of texts) {
    const grams = new Set<string>()
    const chars = [...text]
    chars.forEach((c, i) => {
      grams.add(c)
      if (i > 0) grams.add(chars[i - 1] + c)
    })
    for (const gram of grams) counts.set(gram, (counts.get(gram) ?? 0) + 1)
  }
  return counts
}

test('GramCounter counts what the plain definition counts, ASCII, non-ASCII and astral alike', () => {
  let seed = 7
  const rnd = () => { seed = (seed * 1103515245 + 12345) % 2147483648; return seed / 2147483648 }
  const alphabet = ['a', 'b', ' ', '%', '\u007f', '\u0080', 'é', 'ß', 'σ', '😀', '🎉', '東', '\ud800', '\udc00']
  const texts = Array.from({ length: 300 }, () => Array.from({ length: Math.floor(rnd() * 12) }, () => alphabet[Math.floor(rnd() * alphabet.length)]).join(''))
  texts.push('', 'aaaa', 'abab', '😀😀😀')
  const counter = new GramCounter()
  for (const text of texts) counter.add(text)
  const got = new Map(counter.entries())
  assert.deepEqual(new Map([...got].sort()), new Map([...naiveGrams(texts)].sort()))
})

test('search text helpers', () => {
  assert.equal(codePoints('a😀é'), 3)
  assert.equal(isIndexable('café 😀'), true)
  for (const q of ['a\u0000', '\u0001', 'x\ufffd', '\uffff', '\ufffe', 'a\ud800', '\udc00b']) assert.equal(isIndexable(q), false, JSON.stringify(q))
  assert.ok(prefixUpperBound('ab') >= 'ab\u{10FFFF}' && prefixUpperBound('ab') > 'abz' && prefixUpperBound('ab') < 'ac')
  assert.equal(codePoints(prefixUpperBound('a')), 3)
})

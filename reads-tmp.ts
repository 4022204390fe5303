import { PostgresStore } from './src/store/postgres/postgres-store.ts'
import { sender } from './bench/data.ts'
const store = new PostgresStore({ url: process.argv[2]! })
const runs = Number(process.argv[3] ?? 30)
const since = (await store.list({ limit: 1, offset: 500000 })).data[0]!.ts
const first = await store.list({ limit: 50, offset: 0 })
const deep = await store.list({ limit: 50, offset: 999900 })
const cases: Array<[string, any]> = [
  ['first', {}], ['from big', { from: sender(0) }], ['from median', { from: sender(700) }], ['since', { since }], ['from+since', { from: sender(0), since }],
  ['after 50', { after: first.next }], ['after deep', { after: deep.next }],
  ['q zyxomat', { q: 'zyxomat' }], ['q ORDER', { q: 'ORDER' }], ['q payment', { q: 'payment' }], ['q GRÜSSE', { q: 'GRÜSSE' }], ['q e', { q: 'e' }], ['q 東', { q: '東' }], ['q zy', { q: 'zy' }],
  ['q the since', { q: 'the', since }], ['q order off5000', { q: 'order', offset: 5000 }]
]
for (const [name, f] of cases) {
  const t: number[] = []
  let total = 0
  for (let i = 0; i < (name.includes('since') && name.startsWith('q') ? 3 : runs); i++) {
    const s = performance.now(); total = (await store.list({ limit: 50, offset: 0, ...f })).total; t.push(performance.now() - s)
  }
  const firstT = t[0]!
  t.sort((a, b) => a - b)
  console.log(name.padEnd(18), 'first', firstT.toFixed(1), 'p50', t[Math.floor(t.length / 2)]!.toFixed(1), 'p99', t[Math.ceil(t.length * 0.99) - 1]!.toFixed(1), 'total', total)
}
const t: number[] = []
for (let i = 0; i < runs; i++) { const s = performance.now(); await store.stats(); t.push(performance.now() - s) }
t.sort((a, b) => a - b)
console.log('stats p50', t[Math.floor(t.length / 2)]!.toFixed(1), 'p99', t[t.length - 1]!.toFixed(1))
await store.close()

import assert from 'node:assert/strict'
import { test } from 'node:test'
import { parseDatabaseUrl } from '../../src/lib/database-url.ts'

test('DATABASE_URL forms', () => {
  assert.deepEqual(parseDatabaseUrl('sqlite:////abs/path.db'), { engine: 'sqlite', filename: '/abs/path.db' })
  assert.deepEqual(parseDatabaseUrl('sqlite:///rel/path.db'), { engine: 'sqlite', filename: 'rel/path.db' })
  assert.deepEqual(parseDatabaseUrl('sqlite:///./data/app.db'), { engine: 'sqlite', filename: './data/app.db' })
  assert.deepEqual(parseDatabaseUrl('sqlite+aiosqlite:////abs/x.db'), { engine: 'sqlite', filename: '/abs/x.db' })
  assert.deepEqual(parseDatabaseUrl('sqlite::memory:'), { engine: 'sqlite', filename: ':memory:' })
  assert.deepEqual(parseDatabaseUrl('postgresql://u@h/db'), { engine: 'postgres', url: 'postgresql://u@h/db', poolMax: 10 })
  for (const url of ['postgresql:///db', 'mysql://x', 'sqlite://host/x.db', 'sqlite:///', 'app.db', '']) {
    assert.equal(parseDatabaseUrl(url), null, url)
  }
})

import neostandard from 'neostandard'

export default [
  ...neostandard({ ts: true, ignores: ['dist/**', 'node_modules/**', 'test-artifacts/**', 'bench-results/**', '.build-test-*/**'] }),
  {
    // TypeBox's idiom is a schema constant and its Static type under one name; the compiler
    // already rejects real redeclarations.
    files: ['**/*.ts'],
    rules: { '@typescript-eslint/no-redeclare': 'off' }
  }
]

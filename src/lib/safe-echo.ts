/** Deeper than this, a value is not echoed back: serialising it recursively would overflow the stack. */
export const MAX_ECHO_DEPTH = 64

/** True when arrays/objects nest deeper than `limit`; iterative, so it cannot overflow itself. */
function nestsDeeperThan (value: unknown, limit: number): boolean {
  const stack: Array<[unknown, number]> = [[value, 0]]
  while (stack.length > 0) {
    const [current, depth] = stack.pop()!
    if (current === null || typeof current !== 'object') continue
    if (depth >= limit) return true
    for (const child of Object.values(current)) stack.push([child, depth + 1])
  }
  return false
}

/**
 * A 422's `input`: the offending value as received, unless it nests so deep (`[[[[…]]]]` 100 000 levels,
 * which JSON.parse accepts) that writing it back would crash the serialiser into a 500; then a short
 * description instead (test/fuzz/webhook.test.ts keeps it so).
 */
export function safeEcho (value: unknown): unknown {
  if (!nestsDeeperThan(value, MAX_ECHO_DEPTH)) return value
  return `${Array.isArray(value) ? 'array' : 'object'} nested deeper than ${MAX_ECHO_DEPTH} levels`
}

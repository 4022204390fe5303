/**
 * A secret and its older companions during a rotation: the current one plus up to
 * `MAX_PREVIOUS_KEYS` previous ones, all still accepted while senders switch over.
 */
export interface Keyring<Key = string> {
  readonly current: Key
  readonly previous: readonly Key[]
}

/** Which key of a keyring a signature matched; `none` is a failed check. */
export type KeyUsed = 'current' | 'previous' | 'none'

export const KEYS_USED: readonly KeyUsed[] = ['current', 'previous', 'none']

export const MAX_PREVIOUS_KEYS = 10

/**
 * Which key `matches` accepts. Every key is tried, even after a match, so the time taken says
 * nothing about which one matched; each `matches` call is itself a constant-time comparison.
 */
export function matchKey<Key> (keyring: Keyring<Key>, matches: (key: Key) => boolean): KeyUsed {
  let used: KeyUsed = matches(keyring.current) ? 'current' : 'none'
  for (const key of keyring.previous) {
    if (matches(key) && used === 'none') used = 'previous'
  }
  return used
}

/**
 * A `…_PREVIOUS` value as its list of keys: comma-separated, whitespace around each item trimmed.
 * Returns the problem instead when an item is empty or there are too many (never echoing a key).
 */
export function parsePreviousKeys (value: string): { keys: string[] } | { problem: string } {
  const keys = value.split(',').map((item) => item.trim())
  if (keys.some((key) => key === '')) return { problem: 'has an empty item' }
  if (keys.length > MAX_PREVIOUS_KEYS) return { problem: `has ${keys.length} items, more than ${MAX_PREVIOUS_KEYS}` }
  return { keys }
}

// PostgreSQL text cannot hold U+0000, which JSON lets a message_id or text carry (and SQLite stores).
// Such strings are stored with an escape that keeps byte order (message_id order must equal SQLite's):
// U+0001 is the escape character, U+0000 → U+0001 U+0001 and U+0001 → U+0001 U+0002. Everything else is
// stored as is, so ordinary strings cost one scan for the two characters and nothing more.
//   Order: at the first differing character, 0 → (1,1) < 1 → (1,2) < any c ≥ 2, as 0 < 1 < c.
// https://www.postgresql.org/docs/15/datatype-character.html ("The character with code zero cannot be stored")

const NUL = '\u0000'
const ESC = '\u0001'

const needsEscape = (s: string) => s.includes(NUL) || s.includes(ESC)

export function encodeText (s: string): string {
  if (!needsEscape(s)) return s
  return s.replaceAll(ESC, ESC + '\u0002').replaceAll(NUL, ESC + ESC)
}

export function decodeText (s: string): string {
  if (!s.includes(ESC)) return s
  let out = ''
  for (let i = 0; i < s.length; i++) {
    if (s[i] === ESC) out += s[++i] === ESC ? NUL : ESC
    else out += s[i]
  }
  return out
}

/**
 * Whether a substring test of the escaped forms can match where the plain strings do not: only when
 * the (folded) query holds U+0000 or U+0001, or starts with U+0002, which can line up with half of an
 * escape pair. Such searches are checked again on the decoded text (postgres-store.ts).
 */
export function mayMisalign (q: string): boolean {
  return needsEscape(q) || q.startsWith('\u0002')
}

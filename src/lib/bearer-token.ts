import { createHash, timingSafeEqual } from 'node:crypto'

const digest = (value: string): Buffer => createHash('sha256').update(value, 'utf8').digest()

/**
 * A checker for `Authorization: Bearer <token>` against one expected token. Both sides are hashed
 * first, so the comparison is constant-time over equal-length digests whatever the presented length:
 * neither the token's bytes nor its length leak through timing.
 */
export function bearerTokenChecker (expected: string): (authorization: string | undefined) => boolean {
  const expectedDigest = digest(expected)
  return (authorization) => {
    if (authorization === undefined) return false
    // RFC 6750 §2.1: the scheme is case-insensitive; exactly one space before the token.
    const match = /^Bearer ([\x21-\x7e]+)$/i.exec(authorization)
    return match !== null && timingSafeEqual(digest(match[1]!), expectedDigest)
  }
}

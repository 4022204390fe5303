import { createHmac, timingSafeEqual } from 'node:crypto'

const HEX_SHA256 = /^[0-9a-fA-F]{64}$/

/**
 * True when `header` is the hex HMAC-SHA256 of exactly `body` under `secret`.
 * The shape check looks only at the header (public), and the digest comparison is constant-time over
 * equal-length buffers, so timing reveals nothing about the expected value.
 */
export function isValidSignature (secret: string, body: Buffer, header: string | undefined): boolean {
  if (header === undefined || !HEX_SHA256.test(header)) return false
  const expected = createHmac('sha256', secret).update(body).digest()
  return timingSafeEqual(expected, Buffer.from(header, 'hex'))
}

/** The lowercase hex signature a provider would send for `body`. */
export function sign (secret: string, body: string | Buffer): string {
  return createHmac('sha256', secret).update(body).digest('hex')
}

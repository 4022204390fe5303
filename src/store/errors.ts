/**
 * The store cannot take or answer a request right now (busy, full, read-only, gone). Every engine
 * throws this for failures a caller may retry; the HTTP layer answers 503 with Retry-After, and
 * nothing was acknowledged.
 */
export class StoreUnavailableError extends Error {
  readonly retryAfterSeconds: number

  constructor (reason: string, options?: { cause?: unknown, retryAfterSeconds?: number }) {
    super(reason, { cause: options?.cause })
    this.name = 'StoreUnavailableError'
    this.retryAfterSeconds = options?.retryAfterSeconds ?? 1
  }
}

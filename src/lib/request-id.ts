import { randomUUID } from 'node:crypto'

// Bounded and plain, so a caller cannot inject log lines, control characters or megabytes of id.
const SAFE_REQUEST_ID = /^[A-Za-z0-9._:@/+=-]{1,128}$/

/** The caller's X-Request-Id when it is safe to log and echo, a fresh UUID otherwise. */
export function requestIdFrom (header: string | string[] | undefined): string {
  return typeof header === 'string' && SAFE_REQUEST_ID.test(header) ? header : randomUUID()
}

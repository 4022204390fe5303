import { sign } from '../../src/lib/signature.ts'
import { SECRET } from '../helper.ts'

export interface LiveResponse {
  status: number
  headers: Headers
  body: any
}

/** A request to a real server process over a real socket; the body parsed when it is JSON. */
export async function call (url: string, init: RequestInit = {}): Promise<LiveResponse> {
  const response = await fetch(url, { ...init, signal: AbortSignal.timeout(15_000) })
  const text = await response.text()
  let body: unknown = text
  try { body = JSON.parse(text) } catch {}
  return { status: response.status, headers: response.headers, body }
}

export function delivery (id: string, text = 'Hello'): string {
  return JSON.stringify({ message_id: id, from: '+919876543210', to: '+14155550100', ts: '2025-01-15T10:00:00Z', text })
}

/** POST /webhook signed with the test secret, as a provider would. */
export function post (baseUrl: string, payload: string, secret = SECRET): Promise<LiveResponse> {
  return call(`${baseUrl}/webhook`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-signature': sign(secret, payload) },
    body: payload
  })
}

/** Every stored message id through the public API (bounded: at most 100 pages). */
export async function storedIds (baseUrl: string): Promise<string[]> {
  const ids: string[] = []
  for (let page = 0; page < 100; page++) {
    const { body } = await call(`${baseUrl}/messages?limit=100&offset=${page * 100}`)
    ids.push(...body.data.map((m: { message_id: string }) => m.message_id))
    if (ids.length >= body.total) break
  }
  return ids
}

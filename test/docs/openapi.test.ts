import assert from 'node:assert/strict'
import { test, type TestContext } from 'node:test'
import { validate, compileErrors } from '@readme/openapi-parser'
import type { FastifyInstance } from 'fastify'
import { build, deliver, message } from '../helper.ts'
import { sign } from '../../src/lib/signature.ts'

interface Operation {
  summary?: string
  description?: string
  tags?: string[]
  parameters?: Array<{ in: string, name: string, required?: boolean, description?: string }>
  responses: Record<string, { description: string, headers?: Record<string, unknown>, content?: Record<string, { schema: Record<string, unknown> }> }>
}
interface OpenApi {
  openapi: string
  info: { description: string }
  paths: Record<string, Record<string, Operation>>
  components: { schemas: Record<string, unknown> }
}

const HTTP_METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'])

async function documentOf (app: FastifyInstance): Promise<OpenApi> {
  const response = await app.inject('/docs/json')
  assert.equal(response.statusCode, 200)
  return response.json()
}

/** Every validation a real OpenAPI validator does; it may not fetch anything. */
async function validateDocument (document: unknown) {
  return validate(structuredClone(document) as Parameters<typeof validate>[0], { resolve: { external: false } })
}

/**
 * Every route the app registered, as [METHOD, path] pairs, read from Fastify's own route tree
 * (printRoutes with commonPrefix off prints each route's full segment under its parent).
 */
function registeredRoutes (app: FastifyInstance): Array<[string, string]> {
  const routes: Array<[string, string]> = []
  const parents: string[] = []
  for (const line of app.printRoutes({ commonPrefix: false }).split('\n')) {
    const match = line.match(/^((?:[│ ] {3})*)[├└]── (.*?)(?: \(([^)]*)\))?$/)
    if (match === null) continue
    const depth = match[1]!.length / 4
    const path = (parents[depth - 1] ?? '') + match[2]!
    parents[depth] = path
    parents.length = depth + 1
    for (const method of (match[3] ?? '').split(',').map((m) => m.trim()).filter((m) => HTTP_METHODS.has(m))) {
      routes.push([method, path])
    }
  }
  return routes
}

async function docsApp (t: TestContext, env: Record<string, string> = {}) {
  const { app } = await build(t, env)
  return { app, document: await documentOf(app) }
}

test('/docs/json is an OpenAPI 3 document that a real validator accepts, and rejects when broken', async (t) => {
  const { document } = await docsApp(t)
  assert.match(document.openapi, /^3\./)
  const result = await validateDocument(document)
  assert.equal(result.valid, true, result.valid ? '' : compileErrors(result))

  const broken = structuredClone(document)
  delete (broken.paths['/webhook']!.post!.responses['200'] as Record<string, unknown>).description
  assert.equal((await validateDocument(broken)).valid, false)
})

test('every route the app registers is documented with its methods, except the docs page\'s own assets', async (t) => {
  const { app, document } = await docsApp(t)
  const routes = registeredRoutes(app)
  // Sanity: the parser sees the routes we know exist, so an empty list cannot pass silently.
  for (const known of [['POST', '/webhook'], ['GET', '/messages'], ['GET', '/stats'], ['GET', '/health/live'], ['GET', '/health/ready'], ['GET', '/metrics'], ['GET', '/docs/json']]) {
    assert.ok(routes.some(([m, p]) => m === known[0] && p === known[1]), `printRoutes lists ${known.join(' ')}`)
  }
  const gets = new Set(routes.filter(([m]) => m === 'GET').map(([, p]) => p))
  const undocumented = routes
    .filter(([, path]) => path !== '/docs' && !path.startsWith('/docs/'))
    .filter(([method, path]) => !(method === 'HEAD' && gets.has(path))) // Fastify's automatic HEAD for each GET
    .filter(([method, path]) => document.paths[path.replace(/:(\w+)/g, '{$1}')]?.[method.toLowerCase()] === undefined)
  assert.deepEqual(undocumented, [])
  for (const [path, operations] of Object.entries(document.paths)) {
    for (const [method, operation] of Object.entries(operations)) {
      assert.ok(operation.summary, `${method} ${path} has a summary`)
      assert.ok(operation.tags?.length, `${method} ${path} has a tag`)
    }
  }
})

test('POST /webhook lists every status it sends, each with a JSON body schema', async (t) => {
  const { document } = await docsApp(t)
  const { responses } = document.paths['/webhook']!.post!
  for (const status of ['200', '401', '413', '415', '422', '500', '503']) {
    const schema = responses[status]?.content?.['application/json']?.schema
    assert.ok(schema, `${status} has a JSON schema`)
    assert.ok(responses[status]!.description.length > 10, `${status} says what it means`)
  }
  assert.deepEqual(responses['200']!.content!['application/json']!.schema, { $ref: '#/components/schemas/WebhookAck' })
  assert.deepEqual(responses['422']!.content!['application/json']!.schema, { $ref: '#/components/schemas/ValidationErrorBody' })
  assert.match(responses['401']!.description, /invalid signature/)
  assert.ok(responses['503']!.headers?.['Retry-After'], '503 documents Retry-After')
})

test('X-Signature is documented as required, with how to compute it', async (t) => {
  const { document } = await docsApp(t)
  const header = document.paths['/webhook']!.post!.parameters?.find((p) => p.in === 'header' && p.name.toLowerCase() === 'x-signature')
  assert.ok(header, 'X-Signature is a documented header parameter')
  assert.equal(header.required, true)
  assert.match(header.description ?? '', /HMAC-SHA256/)
  assert.match(header.description ?? '', /raw request body/)
  assert.match(header.description ?? '', /WEBHOOK_SECRET/)
  assert.match(document.info.description, /openssl dgst -sha256 -hmac "\$WEBHOOK_SECRET"/)
  assert.match(document.info.description, /createHmac\('sha256', secret\)\.update\(rawBody\)\.digest\('hex'\)/)
})

test('components are named by the schemas\' $id and every $ref points at one of them', async (t) => {
  const { document } = await docsApp(t)
  const names = Object.keys(document.components.schemas)
  for (const id of ['ErrorBody', 'ValidationIssue', 'ValidationErrorBody', 'WebhookAck', 'Message', 'MessagesPage', 'Stats', 'Live', 'Ready', 'NotReady']) {
    assert.ok(names.includes(id), `component ${id}`)
  }
  assert.deepEqual(names.filter((name) => /^def-\d+$/.test(name)), [], 'no anonymous def-N components')
  const refs = [...JSON.stringify(document).matchAll(/"\$ref":"([^"]+)"/g)].map((m) => m[1]!)
  assert.ok(refs.length > 0)
  for (const ref of refs) {
    assert.match(ref, /^#\/components\/schemas\//)
    assert.ok(names.includes(ref.slice('#/components/schemas/'.length)), `${ref} resolves`)
  }
})

test('every status the app really answers is in the document for that operation', async (t) => {
  const { app, document } = await docsApp(t, { BODY_LIMIT: '1024' })
  const documented = (method: string, path: string, status: number) =>
    Object.hasOwn(document.paths[path]?.[method.toLowerCase()]?.responses ?? {}, String(status))

  const notJson = '{"message_id":'
  const answers: Array<[string, string, number]> = [
    ['POST', '/webhook', (await deliver(app, message())).statusCode],
    ['POST', '/webhook', (await deliver(app, message(), { 'x-signature': 'nope' })).statusCode],
    ['POST', '/webhook', (await deliver(app, message({ text: 'x'.repeat(2000) }))).statusCode],
    ['POST', '/webhook', (await deliver(app, message(), { 'content-type': 'text/plain' })).statusCode],
    ['POST', '/webhook', (await deliver(app, notJson, { 'x-signature': sign('test-secret', notJson) })).statusCode],
    ['POST', '/webhook', (await deliver(app, message({ from: 'nobody' }))).statusCode],
    ['GET', '/messages', (await app.inject('/messages')).statusCode],
    ['GET', '/messages', (await app.inject('/messages?limit=1000')).statusCode],
    ['GET', '/stats', (await app.inject('/stats')).statusCode],
    ['GET', '/health/live', (await app.inject('/health/live')).statusCode],
    ['GET', '/health/ready', (await app.inject('/health/ready')).statusCode],
    ['GET', '/metrics', (await app.inject('/metrics')).statusCode]
  ]
  assert.deepEqual(new Set(answers.filter(([, path]) => path === '/webhook').map(([, , s]) => s)), new Set([200, 401, 413, 415, 422]))
  assert.deepEqual(answers.filter(([method, path, status]) => !documented(method, path, status)), [])
})

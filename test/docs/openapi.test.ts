import assert from 'node:assert/strict'
import { join } from 'node:path'
import { test, type TestContext } from 'node:test'
import { validate, compileErrors } from '@readme/openapi-parser'
import Database from 'better-sqlite3'
import type { FastifyInstance } from 'fastify'
import { build, deliver, message, tempDir } from '../helper.ts'
import { sign } from '../../src/lib/signature.ts'
import { DOCS_TITLE, FAVICON_SVG, LOGO_SVG } from '../../src/plugins/external/docs-branding.ts'
import { SECURITY } from '../../src/plugins/external/swagger.ts'

interface Operation {
  summary?: string
  description?: string
  tags?: string[]
  parameters?: Array<{ in: string, name: string, required?: boolean, description?: string }>
  responses: Record<string, { description: string, headers?: Record<string, unknown>, content?: Record<string, { schema: Record<string, unknown>, example?: unknown }> }>
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

interface SecuredDocument extends OpenApi {
  paths: Record<string, Record<string, Operation & { security?: Array<Record<string, string[]>> }>>
  components: OpenApi['components'] & { securitySchemes?: Record<string, Record<string, string>> }
}

test('POST /webhook requires the X-Signature scheme; the read API the bearer scheme only when READ_API_TOKEN is set', async (t) => {
  const open = await docsApp(t) as { document: SecuredDocument }
  assert.deepEqual(open.document.components.securitySchemes?.[SECURITY.signature], {
    type: 'apiKey',
    in: 'header',
    name: 'X-Signature',
    description: open.document.components.securitySchemes?.[SECURITY.signature]?.description
  })
  assert.match(open.document.components.securitySchemes![SECURITY.signature]!.description!, /HMAC-SHA256/)
  assert.deepEqual(open.document.paths['/webhook']!.post!.security, [{ [SECURITY.signature]: [] }])
  assert.deepEqual(Object.keys(open.document.components.securitySchemes!), [SECURITY.signature], 'no token scheme nobody checks')
  for (const path of ['/messages', '/stats', '/health/live', '/health/ready', '/metrics']) {
    assert.equal(open.document.paths[path]!.get!.security, undefined, `${path} is open`)
  }

  const guarded = await docsApp(t, { READ_API_TOKEN: 'a-read-token-of-32-characters-xx' }) as { app: FastifyInstance, document: SecuredDocument }
  assert.deepEqual(guarded.document.components.securitySchemes?.[SECURITY.readToken]?.type, 'http')
  assert.deepEqual(guarded.document.components.securitySchemes?.[SECURITY.readToken]?.scheme, 'bearer')
  for (const path of ['/messages', '/stats']) {
    assert.deepEqual(guarded.document.paths[path]!.get!.security, [{ [SECURITY.readToken]: [] }], `${path} needs the token`)
    // And the scheme is true: without the token the route answers the documented 401.
    const refused = await guarded.app.inject(path)
    assert.equal(refused.statusCode, 401)
    assert.deepEqual(refused.json(), guarded.document.paths[path]!.get!.responses['401']!.content!['application/json']!.example)
  }
  for (const path of ['/health/live', '/health/ready', '/metrics']) {
    assert.equal(guarded.document.paths[path]!.get!.security, undefined, `${path} stays open`)
  }
  const validation = await validateDocument(guarded.document)
  assert.equal(validation.valid, true, validation.valid ? '' : compileErrors(validation))
})

/** The example the document gives for one answer. */
function exampleOf (document: OpenApi, method: string, path: string, status: number): unknown {
  const media = document.paths[path]?.[method]?.responses[String(status)]?.content?.['application/json'] as { example?: unknown } | undefined
  assert.ok(media?.example !== undefined, `${method} ${path} ${status} has an example`)
  return media.example
}

test('every error example in the document is the body the service really sends', async (t) => {
  const dir = tempDir(t)
  const database = join(dir, 'app.db')
  const { app, document } = await docsApp(t, { BODY_LIMIT: '1024', DATABASE_URL: `sqlite:///${database}`, RATE_LIMIT_READ: '3/minute' })
  const invalid = '{"message_id":"m1","from":"+919876543210","ts":"2025-02-30T10:00:00Z","text":null}'
  const answers: Array<[method: string, path: string, response: Awaited<ReturnType<typeof deliver>>]> = [
    ['post', '/webhook', await deliver(app, message(), { 'x-signature': 'nope' })],
    ['post', '/webhook', await deliver(app, message({ text: 'x'.repeat(2000) }))],
    ['post', '/webhook', await deliver(app, message(), { 'content-type': 'text/plain' })],
    ['post', '/webhook', await deliver(app, invalid, { 'x-signature': sign('test-secret', invalid) })],
    ['get', '/messages', await app.inject('/messages?limit=1000')]
  ]
  // 503: another connection holds the write lock longer than the store's busy timeout.
  const holder = new Database(database)
  holder.exec('BEGIN IMMEDIATE')
  try {
    answers.push(['post', '/webhook', await deliver(app, message({ message_id: 'while-locked' }))])
  } finally {
    holder.exec('ROLLBACK')
    holder.close()
  }
  for (let i = 0; i < 4; i++) await app.inject('/stats')
  answers.push(['get', '/stats', await app.inject('/stats')])

  assert.deepEqual(answers.map(([, , response]) => response.statusCode), [401, 413, 415, 422, 422, 503, 429])
  for (const [method, path, response] of answers) {
    assert.deepEqual(response.json(), exampleOf(document, method, path, response.statusCode), `${method} ${path} ${response.statusCode}`)
  }
  const unavailable = answers[5]![2]
  assert.ok(Number(unavailable.headers['retry-after']) >= 1, '503 carries Retry-After')
  assert.ok(document.paths['/webhook']!.post!.responses['503']!.headers?.['Retry-After'])

  // 404 and 405 belong to no operation: the description quotes their bodies.
  const notFound = await app.inject('/nowhere')
  const wrongMethod = await app.inject('/webhook')
  assert.equal(notFound.statusCode, 404)
  assert.equal(wrongMethod.statusCode, 405)
  assert.equal(wrongMethod.headers.allow, 'POST')
  assert.ok(document.info.description.includes(`404 \`${notFound.body}\``), 'the 404 body is quoted')
  assert.ok(document.info.description.includes(`405 \`${wrongMethod.body}\``), 'the 405 body is quoted')
  assert.ok(document.info.description.includes('`Allow: POST`'))
})

test('/docs is branded hookvault API: page title, favicon, logo and theme are the service\'s own', async (t) => {
  const { app, document } = await docsApp(t)
  assert.equal((document.info as { title?: string }).title, DOCS_TITLE)
  const page = await app.inject('/docs')
  assert.equal(page.statusCode, 200)
  assert.match(page.body, /<title>hookvault API<\/title>/)
  assert.doesNotMatch(page.body, /favicon-(16|32)x\1\.png/, 'not swagger-ui\'s favicon')
  const favicon = await app.inject('/docs/static/theme/favicon.svg')
  assert.equal(favicon.statusCode, 200)
  assert.equal(favicon.headers['content-type'], 'image/svg+xml')
  assert.equal(favicon.body, FAVICON_SVG)
  const css = await app.inject('/docs/static/theme/hookvault.css')
  assert.equal(css.statusCode, 200)
  assert.match(css.body, /\.topbar/)
  const initializer = await app.inject('/docs/static/swagger-initializer.js')
  assert.ok(initializer.body.includes(`data:image/svg+xml;base64,${Buffer.from(LOGO_SVG).toString('base64')}`), 'the top bar shows our logo')
})

import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { setTimeout } from 'node:timers/promises'
import { fileURLToPath } from 'node:url'
import { chromium } from 'playwright-core'
import { startServer } from '../helpers/server-process.ts'
import { LOGO_SVG } from '../../src/plugins/external/docs-branding.ts'
import { skipOutsideCi } from '../helpers/skip.ts'

// /docs in a real browser, against the real server process: the page renders every operation and
// loads nothing from outside the service (it must work offline). Debian's chromium, not a download.

const CHROMIUM = '/usr/bin/chromium'
const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync']
const ARTIFACTS = fileURLToPath(new URL('../../test-artifacts/', import.meta.url))

const OPERATIONS = [
  ['post', '/webhook'],
  ['get', '/messages'],
  ['get', '/stats'],
  ['get', '/health/live'],
  ['get', '/health/ready']
] as const

test('/docs renders every operation in chromium and requests nothing outside the service', { timeout: 120_000 }, async (t) => {
  if (!existsSync(CHROMIUM)) {
    skipOutsideCi(t, `${CHROMIUM} is missing (Debian: apt-get install chromium)`)
    return
  }
  const dataDir = mkdtempSync(join(tmpdir(), 'hookvault-docs-'))
  const server = await startServer({ WEBHOOK_SECRET: 'docs-secret', DATABASE_URL: 'sqlite::memory:' })
  const context = await chromium.launchPersistentContext(join(dataDir, 'profile'), {
    executablePath: CHROMIUM,
    args: ARGS,
    headless: true,
    viewport: { width: 1280, height: 900 }
  })
  // One cleanup, in order and bounded: a failing step must not leave the browser or the server running
  // (they would keep this test file's process, and the whole run, alive). Chromium can still be writing
  // its profile while it shuts down, so the folder is removed last, with retries.
  t.after(async () => {
    await Promise.race([context.close(), setTimeout(15_000)]).catch(() => {})
    spawnSync('pkill', ['-KILL', '-P', String(process.pid), 'chromium']) // whatever close() left
    await server.kill()
    rmSync(dataDir, { recursive: true, force: true, maxRetries: 5, retryDelay: 200 })
  })

  // Every request any page, worker or frame of this profile makes, whatever answers it.
  const requested: string[] = []
  context.on('request', (request) => { requested.push(request.url()) })
  const failed: string[] = []
  context.on('requestfailed', (request) => { failed.push(`${request.url()} ${request.failure()?.errorText ?? ''}`) })

  const page = await context.newPage()
  const response = await page.goto(`${server.url}/docs`, { waitUntil: 'networkidle' })
  assert.ok(response, 'the page answered')
  assert.ok(response.ok(), `/docs answered ${response.status()}`)

  for (const [method, path] of OPERATIONS) {
    const summary = page.locator(`.opblock-${method} .opblock-summary-path[data-path="${path}"]`)
    await summary.waitFor({ state: 'visible', timeout: 15_000 })
  }
  // Open POST /webhook: its X-Signature parameter and statuses are what a provider needs.
  await page.locator('.opblock-post .opblock-summary-path[data-path="/webhook"]').click()
  const webhook = page.locator('.opblock-post').filter({ has: page.locator('[data-path="/webhook"]') })
  await webhook.locator('.parameter__name', { hasText: 'X-Signature' }).waitFor({ state: 'visible', timeout: 10_000 })
  for (const status of ['200', '401', '413', '415', '422', '503']) {
    await webhook.locator(`tr.response[data-code="${status}"]`).waitFor({ state: 'attached', timeout: 10_000 })
  }
  await page.waitForLoadState('networkidle')

  // The service's own branding, not swagger-ui's: tab title, top-bar logo, favicon.
  assert.equal(await page.title(), 'hookvault API')
  const logo = page.locator('#swagger-ui .topbar .topbar-wrapper a.link img')
  await logo.waitFor({ state: 'visible', timeout: 10_000 })
  assert.equal(await logo.getAttribute('src'), `data:image/svg+xml;base64,${Buffer.from(LOGO_SVG).toString('base64')}`)
  assert.ok(await logo.evaluate((img) => (img as unknown as { naturalWidth: number }).naturalWidth > 0), 'the logo renders')
  assert.equal(await page.locator('link[rel="icon"]').getAttribute('href'), '/docs/static/theme/favicon.svg')
  // The signature and, when configured, the read token are security schemes: the Authorize dialog names X-Signature.
  await page.locator('.auth-wrapper .authorize').click()
  await page.locator('.modal-ux .auth-container', { hasText: 'X-Signature' }).waitFor({ state: 'visible', timeout: 10_000 })
  await page.locator('.modal-ux .close-modal').click()

  mkdirSync(ARTIFACTS, { recursive: true })
  await page.screenshot({ path: join(ARTIFACTS, 'docs.png'), fullPage: true })

  const origin = new URL(server.url).origin
  assert.ok(requested.some((url) => url === `${origin}/docs/json`), 'the page loaded the document from the service')
  const outside = requested.filter((url) => !url.startsWith('data:') && !url.startsWith('blob:') && new URL(url).origin !== origin)
  assert.deepEqual(outside, [], 'no request leaves the service')
  assert.deepEqual(failed, [], 'every request the page made succeeded')
})

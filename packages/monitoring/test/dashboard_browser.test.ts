import { mkdir } from 'node:fs/promises'
import type { Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { join } from 'node:path'
import { type CacheEntry, createCache } from '@cachekit/core'
import { memoryStore } from '@cachekit/memory'
import { createRedis, redisStore } from '@cachekit/redis'
import { type RedisServerHandle, startStandalone } from '@cachekit/redis-harness'
import express from 'express'
import { type Browser, chromium, type Page } from 'playwright-core'
import { Registry } from 'prom-client'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { cacheMetrics, expressDashboard, operationLog } from '../src/index.js'

// Debian's Chromium (installed by .ci/run), driven by playwright-core: no browser download.
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
]
/** The few DOM names the page functions below use (the package compiles without the DOM lib). */
interface PageGlobals {
  document: {
    querySelector(selector: string): { textContent: string | null } | null
    createElement(tag: string): { textContent: string | null }
    body: { appendChild(node: unknown): unknown }
  }
  pwned?: number
  injected?: number
}
// Bounds a hang, not a claim about speed: the page polls every 250 ms.
const POLL = { timeout: 10_000 }
const artifacts = join(import.meta.dirname, '..', 'test-artifacts')
// A hostile cache name and key: the page must show them as text, never run or parse them.
const NAME = '<img src=x onerror="window.pwned=1">shop'
const KEY_PREFIX = '<script>window.pwned=2</script>'

describe('the /cachekit page in headless Chromium', () => {
  let redis: RedisServerHandle
  let browser: Browser
  let server: Server
  let base = ''
  const cleanups: Array<() => Promise<void> | void> = []

  beforeAll(async () => {
    // Its own Redis: the test kills it to see the breaker open on the page.
    redis = await startStandalone({ args: ['--maxmemory', '64mb', '--maxclients', '321'] })
    browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: CHROMIUM_ARGS })
  })
  afterAll(async () => {
    for (const cleanup of cleanups.reverse()) await cleanup()
    await browser?.close()
    await redis?.stop()
  })

  it('shows live numbers that move with the load, the breaker opening, and slow operations, all as text', async () => {
    const client = createRedis(redis.url)
    const l1 = memoryStore<CacheEntry>({ maxEntries: 1_000 })
    const cache = createCache({
      prefix: `browser:${process.pid}`,
      l1,
      l2: redisStore({ client }),
      fallback: memoryStore<CacheEntry>({ maxEntries: 1_000 }),
      breaker: { failureThreshold: 1, probeInterval: '50ms' },
    })
    cache.on('error', () => {}) // the outage below is expected
    const registry = new Registry()
    const metrics = cacheMetrics(cache, { registry, name: NAME, l1, client, fallback: true })
    // Threshold 0: every operation is "slow", so the table fills without depending on speed.
    const log = operationLog(cache, { slowThreshold: 0, includeKeys: true })
    cleanups.push(async () => {
      log.close()
      metrics.close()
      await cache.close()
    })

    const app = express()
    app.use('/ops', expressDashboard({ registry, log, refresh: '250ms' }))
    app.get('/product/:id', async (req, res) => {
      res.json(await cache.getOrSet(`${KEY_PREFIX}:${req.params.id}`, () => ({ id: req.params.id })))
    })
    server = app.listen(0, '127.0.0.1')
    await new Promise((resolve) => server.once('listening', resolve))
    cleanups.push(() => new Promise<void>((resolve) => server.close(() => resolve())))
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
    const load = async (requests: number) => {
      for (let i = 0; i < requests; i++) expect((await fetch(`${base}/product/${i % 5}`)).status).toBe(200)
    }

    const page = await browser.newPage({ viewport: { width: 1200, height: 1400 } })
    const problems: string[] = []
    page.on('pageerror', (error) => problems.push(`page error: ${error.message}`))
    page.on('console', (message) => {
      if (message.type() === 'error') problems.push(`console: ${message.text()}`)
    })
    page.on('request', (request) => {
      if (!request.url().startsWith(base)) problems.push(`external request: ${request.url()}`)
    })
    await load(10) // 5 misses (factory calls), then 5 L1 hits
    await page.goto(`${base}/ops/cachekit`)
    const section = page.locator('section.cache').filter({ hasText: NAME })
    const stat = (name: string) => section.locator(`[data-stat="${name}"]`)
    const number = async (name: string) => Number((await stat(name).textContent())!.replaceAll(',', ''))
    await expect.poll(() => stat('hits').textContent(), POLL).toBe('5')
    const before = await number('hits')
    expect(await number('factoryOk')).toBe(5)
    expect(await stat('breaker').textContent()).toBe('closed')
    expect(await stat('fallback').textContent()).toBe('idle')

    await load(40) // 40 more L1 hits, seen by the page on its own next poll
    await page.waitForFunction(
      ([selector, was]) =>
        Number(
          (globalThis as unknown as PageGlobals).document
            .querySelector(selector)
            ?.textContent?.replaceAll(',', ''),
        ) > was,
      [`section.cache [data-stat="hits"]`, before] as const,
    )
    await expect.poll(() => number('hits'), POLL).toBe(45) // and it settles on the exact count
    const tierRows = await section.locator('table').first().locator('tbody tr').allTextContents()
    expect(tierRows.some((row) => row.startsWith('l1'))).toBe(true)
    const latencyOps = await section.locator('table').nth(1).locator('tbody td:first-child').allTextContents()
    expect(latencyOps).toContain('getOrSet')
    const redisRow = await section.locator('table').nth(2).locator('tbody tr').first().textContent()
    expect(redisRow).toContain(`127.0.0.1:${redis.port}`)
    expect(redisRow).toContain('64.0 MiB') // maxmemory
    expect(redisRow).toContain('321') // maxclients
    const slowKeys = await page.locator('#slow tbody td:nth-child(5)').allTextContents()
    expect(slowKeys.some((key) => key.startsWith(KEY_PREFIX))).toBe(true)

    // Everything rendered is text: the name and key are shown literally and nothing ran.
    expect(await section.locator('h2').textContent()).toBe(`cache ${NAME}`)
    expect(await page.locator('img, #slow script, main script').count()).toBe(0)
    expect(await page.evaluate(() => (globalThis as unknown as PageGlobals).pwned)).toBeUndefined()

    await mkdir(artifacts, { recursive: true })
    const shot = join(artifacts, 'dashboard.png')
    await page.screenshot({ path: shot, fullPage: true })
    console.info(`dashboard screenshot: ${shot}`)

    // Redis goes away: the breaker opens, the fallback serves, and the page says so.
    const opened = new Promise<void>((resolve) => cache.on('fallback:open', () => resolve()))
    await redis.kill()
    await cache.get('anything')
    await opened
    await expect.poll(() => stat('breaker').textContent(), POLL).toBe('open')
    expect(await stat('fallback').textContent()).toBe('serving')
    await expect
      .poll(() => section.locator('table').nth(2).locator('tbody tr').first().textContent(), POLL)
      .toContain('down')
    await page.screenshot({ path: join(artifacts, 'dashboard-outage.png'), fullPage: true })

    const closed = new Promise<void>((resolve) => cache.on('fallback:close', () => resolve()))
    await redis.restart()
    await closed
    await expect.poll(() => stat('breaker').textContent(), POLL).toBe('closed')
    expect(problems).toEqual([])
    await page.close()
  })

  it('the page never runs a script of another origin and forbids inline ones without its nonce', async () => {
    const page: Page = await browser.newPage()
    const response = await page.goto(`${base}/ops/cachekit`)
    const policy = response!.headers()['content-security-policy']!
    expect(policy).toMatch(/script-src 'nonce-[A-Za-z0-9+/=]+'/)
    expect(policy).toContain("connect-src 'self'")
    // An injected inline script without the nonce is refused by the browser.
    const blocked = await page.evaluate(() => {
      const page = globalThis as unknown as PageGlobals
      const script = page.document.createElement('script')
      script.textContent = 'window.injected = 1'
      page.document.body.appendChild(script)
      return page.injected
    })
    expect(blocked).toBeUndefined()
    await page.close()
  })
})

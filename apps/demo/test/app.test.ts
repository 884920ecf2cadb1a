import { requireTopology } from '@cachekit/redis-harness'
import { afterEach, describe, expect, inject, it, vi } from 'vitest'
import { buildApp } from '../src/app.js'
import { buildCache } from '../src/build_cache.js'
import { ProductDatabase } from '../src/product_database.js'

const redisUrl = requireTopology(inject('redis'), 'standalone').url

describe.each([
  ['memory', {}],
  ['redis', { REDIS_URL: redisUrl }],
] as const)('demo on %s', (expectedMode, env) => {
  const closers: Array<() => Promise<void>> = []
  afterEach(async () => {
    for (const close of closers.splice(0)) await close()
  })

  function start(options: { writesPerMinute?: number } = {}) {
    const { cache, mode, client } = buildCache(env)
    const database = new ProductDatabase(30)
    const app = buildApp({
      cache,
      database,
      mode,
      ...(client ? { client } : {}),
      ...options,
      rateLimitPrefix: `demo-rl-${process.pid}-${Math.random().toString(36).slice(2)}:`,
    })
    closers.push(
      () => app.close(),
      async () => {
        await cache.clear()
        await cache.close()
      },
    )
    return { app, database, mode }
  }

  it('serves a miss from the database, then hits, then misses again after an update', async () => {
    const { app, database, mode } = start()
    expect(mode).toBe(expectedMode)
    const first = await app.inject('/products/2')
    expect(first.json()).toMatchObject({ cache: 'miss', product: { id: 2, name: 'Burr grinder' } })
    const second = await app.inject('/products/2')
    expect(second.json()).toMatchObject({ cache: 'hit', product: { id: 2 } })
    expect(second.headers['x-cache']).toBe('hit')
    expect(database.queries).toBe(1)

    const update = await app.inject({ method: 'PUT', url: '/products/2', payload: { priceCents: 1234 } })
    expect(update.json()).toMatchObject({ product: { priceCents: 1234 }, invalidated: 'product:2' })
    const third = await app.inject('/products/2')
    expect(third.json()).toMatchObject({ cache: 'miss', product: { priceCents: 1234 } })

    const stats = (await app.inject('/stats')).json()
    expect(stats).toMatchObject({ mode: expectedMode, cache: { hits: 1, usingFallback: false } })
  })

  it('invalidates the whole catalog by tag, immediately or lazily', async () => {
    const { app, database } = start()
    await app.inject('/products?ids=1,2,3')
    expect((await app.inject('/products/2')).json()).toMatchObject({ cache: 'hit' })
    const invalidated = await app.inject({ method: 'POST', url: '/catalog/invalidate', payload: {} })
    expect(invalidated.json()).toEqual({ invalidated: ['catalog'], strategy: 'immediate' })
    expect((await app.inject('/products?ids=1,2,3')).json()).toMatchObject({ hits: 0, misses: 3 })
    expect((await app.inject('/products/2')).json()).toMatchObject({ cache: 'hit' }) // re-cached by the list

    await app.inject({ method: 'POST', url: '/catalog/invalidate', payload: { strategy: 'lazy' } })
    const queries = database.queries
    // Lazy: the stale product is served at once while one refresh reloads it in the background.
    expect((await app.inject('/products/2')).json()).toMatchObject({ cache: 'hit', product: { id: 2 } })
    // The refresh runs in the background: polled, within a bound on a hang rather than on speed.
    await vi.waitFor(() => expect(database.queries).toBe(queries + 1), { timeout: 10_000, interval: 10 })

    const bad = await app.inject({
      method: 'POST',
      url: '/catalog/invalidate',
      payload: { strategy: 'soon' },
    })
    expect(bad.statusCode).toBe(400)
  })

  it('reads a list with one batch and caches what it loaded', async () => {
    const { app, database } = start()
    await app.inject('/products/1')
    const list = (await app.inject('/products?ids=1,2,3')).json()
    expect(list).toMatchObject({ hits: 1, misses: 2 })
    expect(list.items.map((item: { id: number }) => item.id)).toEqual([1, 2, 3])
    expect((await app.inject('/products?ids=1,2,3')).json()).toMatchObject({ hits: 3, misses: 0 })
    expect(database.queries).toBe(3)
  })

  it('answers bad input with 400 and unknown ids with 404 without caching them', async () => {
    const { app, database } = start()
    expect((await app.inject('/products/abc')).statusCode).toBe(400)
    expect(
      (await app.inject({ method: 'PUT', url: '/products/1', payload: { priceCents: -5 } })).statusCode,
    ).toBe(400)
    expect((await app.inject('/products/999')).statusCode).toBe(404)
    expect((await app.inject('/products/999')).statusCode).toBe(404)
    expect(database.queries).toBe(2)
  })

  it('serves /metrics, /health (health+json) and the live page, and rate limits writes', async () => {
    const { app } = start({ writesPerMinute: 2 })
    await app.inject('/products/1')
    await app.inject('/products/1')
    const health = await app.inject('/health')
    expect(health.statusCode).toBe(200)
    expect(health.headers['content-type']).toMatch(/^application\/health\+json/)
    expect(health.json().status).toMatch(/^(pass|warn)$/)

    const put = () => app.inject({ method: 'PUT', url: '/products/1', payload: { priceCents: 100 } })
    const writes = [await put(), await put(), await put()]
    expect(writes.map((r) => r.statusCode)).toEqual([200, 200, 429])
    expect(Number(writes[2]!.headers['retry-after'])).toBeGreaterThan(0)
    expect(writes[0]!.headers['ratelimit-policy']).toBe('"writes";q=2;w=60')
    expect(writes[2]!.json()).toMatchObject({ status: 429, 'violated-policies': ['writes'] })

    const metrics = (await app.inject('/metrics')).body
    expect(metrics).toMatch(/cachekit_reads_total\{[^}]*tier="l1"[^}]*result="hit"[^}]*\} 1/)
    expect(metrics).toMatch(/cachekit_ratelimit_decisions_total\{[^}]*result="allowed"[^}]*\} 2/)
    expect(metrics).toMatch(/cachekit_ratelimit_decisions_total\{[^}]*result="denied"[^}]*\} 1/)
    const page = await app.inject('/cachekit')
    expect(page.statusCode).toBe(200)
    expect(page.headers['content-type']).toMatch(/^text\/html/)
    expect((await app.inject('/cachekit.json')).json()).toBeTypeOf('object')
  })
})

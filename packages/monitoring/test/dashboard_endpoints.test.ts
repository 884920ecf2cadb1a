import { type CacheEntry, createCache, type Duration } from '@cachekit/core'
import { memoryStore } from '@cachekit/memory'
import { createRedis, redisStore } from '@cachekit/redis'
import { requireTopology } from '@cachekit/redis-harness'
import Fastify from 'fastify'
import { Registry } from 'prom-client'
import { afterAll, describe, expect, inject, it } from 'vitest'
import { histogramQuantile } from '../src/dashboard_snapshot.js'
import {
  cacheMetrics,
  type DashboardOptions,
  type DashboardSnapshot,
  dashboardEndpoints,
  fastifyDashboard,
  MonitoringOptionError,
  operationLog,
} from '../src/index.js'

const { url } = requireTopology(inject('redis'), 'standalone')

describe('dashboard endpoints', () => {
  const client = createRedis(url)
  const l1 = memoryStore<CacheEntry>({ maxEntries: 100 })
  const cache = createCache({
    prefix: `dashboard:${process.pid}`,
    l1,
    l2: redisStore({ client, closeClient: false }),
  })
  const registry = new Registry()
  const metrics = cacheMetrics(cache, { registry, name: 'shop', l1, client })
  const log = operationLog(cache, { slowThreshold: 0 })
  afterAll(async () => {
    log.close()
    metrics.close()
    await cache.clear()
    await cache.close()
    client.disconnect()
  })

  it('Fastify: the page and its JSON under a custom path, with the counts of a known mix', async () => {
    await cache.set('a', 1)
    await cache.get('a') // L1 hit
    await cache.get('a') // L1 hit
    await cache.get('b') // miss
    await cache.getOrSet('c', () => 3) // miss, factory ok

    const app = Fastify()
    await app.register(fastifyDashboard, { registry, log, path: '/ops/live', slowLimit: 3 })
    const page = await app.inject({ method: 'GET', url: '/ops/live' })
    expect(page.statusCode).toBe(200)
    expect(page.headers['content-type']).toBe('text/html; charset=utf-8')
    expect(page.body).toContain('data-source="./live.json"')
    const nonce = /script-src 'nonce-([^']+)'/.exec(String(page.headers['content-security-policy']))![1]!
    expect(page.body).toContain(`<script nonce="${nonce}">`)
    expect(page.body).not.toMatch(/<(?:script|link|img)[^>]+(?:src|href)=/) // no external asset
    expect(page.body).not.toContain('innerHTML')

    const data = await app.inject({ method: 'GET', url: '/ops/live.json' })
    expect(data.headers['content-type']).toMatch(/^application\/json/)
    const snapshot = data.json() as DashboardSnapshot
    expect(snapshot.caches.map((c) => c.name)).toEqual(['shop'])
    const shop = snapshot.caches[0]!
    expect(shop.reads).toEqual({ total: 4, hits: 2, stale: 0, misses: 2, hitsByTier: { l1: 2 } })
    expect(shop.factory).toEqual({ ok: 1, error: 0 })
    expect(shop.l1?.entries).toBe(2)
    expect(shop.breakerOpen).toBe(false)
    expect(shop.latency.find((l) => l.op === 'get')?.count).toBe(3)
    const [node] = shop.redis
    expect(node?.up).toBe(true)
    expect(node?.clientsMax).toBeGreaterThan(0)
    expect(node?.memoryUsedBytes).toBeGreaterThan(0)
    expect(snapshot.slow).toHaveLength(3)
    expect(snapshot.slow[0]!.at).toBeGreaterThanOrEqual(snapshot.slow[2]!.at) // newest first
    expect(snapshot.window?.ops).toBe(log.window().ops)
    expect((await app.inject({ method: 'GET', url: '/cachekit' })).statusCode).toBe(404)
    await app.close()
  })

  it('answers nothing for other paths, and rejects bad options with MonitoringOptionError', async () => {
    const answer = dashboardEndpoints({ registry })
    expect(await answer('/metrics')).toBeUndefined()
    expect((await answer('/cachekit?x=1'))?.status).toBe(200)
    const bad: DashboardOptions[] = [
      { path: 'cachekit' },
      { path: '/cachekit/' },
      { path: '/a"b' },
      { prefix: 'no-dash' },
      { refresh: '10ms' },
      { slowLimit: -1 },
    ]
    for (const options of bad) {
      expect(() => dashboardEndpoints(options), JSON.stringify(options)).toThrow(MonitoringOptionError)
    }
    expect(() => dashboardEndpoints({ refresh: 'soon' as Duration })).toThrow(/cachekit/)
  })

  it('estimates quantiles as Prometheus histogram_quantile does', () => {
    const buckets = [
      [0.1, 10],
      [0.2, 30],
      [Number.POSITIVE_INFINITY, 40],
    ] as const
    expect(histogramQuantile(0.5, buckets)).toBeCloseTo(0.15) // rank 20: halfway into (0.1, 0.2]
    expect(histogramQuantile(0.25, buckets)).toBeCloseTo(0.1)
    expect(histogramQuantile(0.99, buckets)).toBe(0.2) // in +Inf: the highest finite bound
    expect(histogramQuantile(0.5, [[Number.POSITIVE_INFINITY, 0]])).toBeNull()
  })
})

import { randomUUID } from 'node:crypto'
import { type CacheEntry, type CacheEventMap, createCache } from '@cachekit/core'
import { memoryStore, memoryTagIndex } from '@cachekit/memory'
import { createRedis, redisStore } from '@cachekit/redis'
import { type RedisServerHandle, startStandalone } from '@cachekit/redis-harness'
import { Registry } from 'prom-client'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { cacheMetrics, metricNames } from '../src/index.js'
import { promtoolCheck, sampleValue, seriesOf } from './support/scrape.js'
import { until } from './support/until.js'

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

describe('cacheMetrics on a real Redis, through a known mix and an outage', () => {
  let server: RedisServerHandle

  beforeAll(async () => {
    // Its own server: the test kills it.
    server = await startStandalone({ args: ['--maxmemory', '64mb', '--maxclients', '500'] })
  })
  afterAll(async () => {
    await server.stop()
  })

  it('counts every call and read, reads Redis INFO at scrape, and follows the outage', async () => {
    const prefix = `mix:${randomUUID()}`
    const client = createRedis(server.url)
    const l1 = memoryStore<CacheEntry>({ maxEntries: 1_000 })
    const cache = createCache({
      prefix,
      l1,
      l2: redisStore({ client }),
      fallback: memoryStore<CacheEntry>({ maxEntries: 1_000 }),
      tagIndex: memoryTagIndex(),
      breaker: { failureThreshold: 1, probeInterval: '50ms' },
    })
    // Another instance on the same Redis: what it writes is in L2 and not in our L1.
    const writer = createCache({ prefix, l2: redisStore({ client: createRedis(server.url) }) })
    const errors: Array<CacheEventMap['error']> = []
    cache.on('error', (event) => errors.push(event))

    const registry = new Registry()
    const metrics = cacheMetrics(cache, {
      registry,
      name: 'app',
      l1,
      client,
      fallback: true,
      keyGroups: [[/:user:/, 'users']],
    })
    const v = (name: string, labels: Record<string, string> = {}) =>
      sampleValue(registry, `cachekit_${name}`, { cache: 'app', ...labels })

    await cache.set('user:1', { name: 'Ada' }) // write, group users
    await cache.set('page:1', 'home') // write, group other
    for (let i = 0; i < 3; i++) expect(await cache.get('user:1')).toEqual({ name: 'Ada' }) // 3 L1 hits
    for (let i = 0; i < 2; i++) expect(await cache.get('user:404')).toBeUndefined() // 2 misses
    await writer.set('page:2', 'about')
    expect(await cache.get('page:2')).toBe('about') // 1 L2 hit (and L1 is filled)
    expect(await cache.getOrSet('user:2', () => ({ name: 'Grace' }))).toEqual({ name: 'Grace' }) // miss, factory ok
    await expect(
      cache.getOrSet('page:3', () => {
        throw new Error('db down')
      }),
    ).rejects.toThrow('db down') // miss, factory error
    await cache.invalidateTags(['t1', 't2'], { strategy: 'lazy' }) // 2 tags, lazy
    expect(await cache.delete('page:1')).toBe(true)

    // Stale: a value past its TTL served within grace because its factory fails.
    await cache.set('page:4', 'old', { ttl: '30ms', grace: '1m' })
    await sleep(60) // lets the TTL pass; not a speed assertion
    expect(
      await cache.getOrSet('page:4', () => Promise.reject(new Error('still down')), {
        ttl: '30ms',
        grace: '1m',
      }),
    ).toBe('old')

    expect(await v('writes_total', { group: 'users' })).toBe(2) // user:1 and user:2
    expect(await v('writes_total', { group: 'other' })).toBe(2) // page:1 and page:4
    expect(await v('deletes_total', { group: 'other' })).toBe(1)
    expect(await v('reads_total', { group: 'users', tier: 'l1', result: 'hit' })).toBe(3)
    expect(await v('reads_total', { group: 'users', tier: 'none', result: 'miss' })).toBe(3) // 2 gets, 1 getOrSet
    expect(await v('reads_total', { group: 'other', tier: 'l2', result: 'hit' })).toBe(1)
    expect(await v('reads_total', { group: 'other', result: 'stale' })).toBe(1)
    expect(await v('stale_served_total')).toBe(1)
    expect(await v('operations_total', { op: 'get', result: 'hit', tier: 'l1' })).toBe(3)
    expect(await v('operations_total', { op: 'get', result: 'hit', tier: 'l2' })).toBe(1)
    expect(await v('operations_total', { op: 'get', result: 'miss', tier: 'none' })).toBe(2)
    expect(await v('operations_total', { op: 'set', result: 'ok', group: 'users' })).toBe(1)
    expect(await v('operations_total', { op: 'set', result: 'ok', group: 'other' })).toBe(2)
    expect(await v('operations_total', { op: 'delete', result: 'ok' })).toBe(1)
    expect(await v('operations_total', { op: 'getOrSet', result: 'miss', group: 'users' })).toBe(1)
    expect(await v('operations_total', { op: 'getOrSet', result: 'error' })).toBe(1)
    expect(await v('factory_calls_total', { group: 'users', result: 'ok' })).toBe(1)
    expect(await v('factory_calls_total', { group: 'other', result: 'error' })).toBe(2) // page:3, page:4
    expect(await v('tag_invalidations_total', { strategy: 'lazy' })).toBe(2)
    const factoryErrors = errors.filter((e) => e.operation === 'factory').length
    expect(await v('errors_total', { operation: 'factory', code: 'E_FACTORY_ERROR' })).toBe(factoryErrors)
    const durations = await seriesOf(registry, 'cachekit_operation_duration_seconds')
    const getL1Count = durations.find(
      (s) =>
        s.metricName === 'cachekit_operation_duration_seconds_count' &&
        s.labels.op === 'get' &&
        s.labels.tier === 'l1',
    )
    expect(getL1Count?.value).toBe(3)
    expect(await v('l1_entries')).toBe((l1.stats() as { entries: number }).entries)
    expect(await v('breaker_open')).toBe(0)
    expect(await v('fallback_active')).toBe(0)

    // Redis gauges, from INFO at this scrape.
    const node = `127.0.0.1:${server.port}`
    expect(await v('redis_up', { node })).toBe(1)
    expect(await v('redis_memory_max_bytes', { node })).toBe(64 * 1024 * 1024)
    expect(await v('redis_clients_max', { node })).toBe(500)
    expect(await v('redis_clients_connected', { node })).toBeGreaterThanOrEqual(2)
    expect(await v('redis_memory_used_bytes', { node })).toBeGreaterThan(0)
    expect(await v('redis_evicted_keys_total', { node })).toBe(0)
    const ratio = await v('redis_keyspace_hit_ratio', { node })
    expect(ratio).toBeGreaterThan(0)
    expect(ratio).toBeLessThanOrEqual(1)

    // The outage: SIGKILL, the breaker opens on the next failure, the fallback serves.
    const errorsBefore = errors.length
    const opened = new Promise<void>((resolve) => cache.on('fallback:open', () => resolve()))
    await server.kill()
    await cache.get('page:9')
    await opened
    let storeKey = ''
    const stop = cache.on('set', ({ key }) => {
      storeKey = key
    })
    await cache.set('page:5', 'during')
    stop()
    await l1.delete([storeKey]) // so the next read goes past L1
    expect(await cache.get('page:5')).toBe('during') // from the fallback
    expect(await v('redis_up', { node })).toBe(0)
    expect(await seriesOf(registry, 'cachekit_redis_memory_used_bytes')).toEqual([])
    expect(await v('breaker_open')).toBe(1)
    expect(await v('fallback_active')).toBe(1)
    expect(await v('fallback_openings_total')).toBe(1)
    expect(await v('reads_total', { group: 'other', tier: 'fallback', result: 'hit' })).toBe(1)
    const storeFailures = errors.slice(errorsBefore).filter((e) => e.error.code === 'E_STORE_FAILURE')
    expect(storeFailures.length).toBeGreaterThan(0)
    const scraped = (await seriesOf(registry, 'cachekit_errors_total'))
      .filter((s) => s.labels.code === 'E_STORE_FAILURE')
      .reduce((sum, s) => sum + s.value, 0)
    expect(scraped).toBe(errors.filter((e) => e.error.code === 'E_STORE_FAILURE').length)
    expect(cache.stats().errors).toBe(errors.length)

    // Back: the cache returns to Redis by itself, and the downtime is counted.
    const closed = new Promise<void>((resolve) => cache.on('fallback:close', () => resolve()))
    await server.restart()
    await closed
    expect(await v('breaker_open')).toBe(0)
    expect(await v('fallback_downtime_seconds_total')).toBeGreaterThan(0)
    expect(await until(async () => (await v('redis_up', { node })) === 1)).toBe(true)

    // Prometheus rules, checked by Prometheus' own linter.
    const text = await registry.metrics()
    const lint = await promtoolCheck(text)
    expect(lint.output).toBe('')
    expect(lint.code).toBe(0)
    const exported = (await registry.getMetricsAsJSON()).map((m) => m.name).sort()
    expect(exported).toEqual(metricNames().sort())

    metrics.close()
    expect(await registry.getMetricsAsJSON()).toEqual([])
    await writer.close()
    await cache.close()
  })
})

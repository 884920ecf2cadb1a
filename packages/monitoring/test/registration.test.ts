import { type CacheEntry, CacheError, createCache } from '@cachekit/core'
import { memoryStore } from '@cachekit/memory'
import { createRedis } from '@cachekit/redis'
import { requireTopology } from '@cachekit/redis-harness'
import type { Cluster } from 'ioredis'
import { Counter, Registry } from 'prom-client'
import { describe, expect, inject, it } from 'vitest'
import { cacheMetrics, MetricsRegistrationError, MonitoringOptionError } from '../src/index.js'
import { promtoolCheck, seriesOf } from './support/scrape.js'

const newCache = () => createCache({ prefix: 'reg', l1: memoryStore<CacheEntry>({ maxEntries: 100 }) })

describe('cacheMetrics registration', () => {
  it('refuses the same cache name twice on one registry with a typed error, and allows another name', async () => {
    const registry = new Registry()
    const cache = newCache()
    const first = cacheMetrics(cache, { registry, name: 'a' })
    let caught: unknown
    try {
      cacheMetrics(cache, { registry, name: 'a' })
    } catch (error) {
      caught = error
    }
    expect(caught).toBeInstanceOf(MetricsRegistrationError)
    expect(CacheError.hasCode(caught, 'E_INVALID_OPTION')).toBe(true)
    expect((caught as Error).message).toMatch(/\[cachekit\/monitoring\].*"a"/)
    // Another cache name shares the metrics, each series labelled by its cache.
    const other = newCache()
    const second = cacheMetrics(other, { registry, name: 'b' })
    await cache.set('k', 1)
    await other.set('k', 1)
    await other.set('j', 1)
    const writes = await seriesOf(registry, 'cachekit_writes_total')
    expect(writes.map((s) => [s.labels.cache, s.value])).toEqual([
      ['a', 1],
      ['b', 2],
    ])
    // Closing both frees the names: registering again works.
    first.close()
    second.close()
    cacheMetrics(cache, { registry, name: 'a' }).close()
    await cache.close()
    await other.close()
  })

  it('refuses a registry that already has a foreign metric under one of our names', () => {
    const registry = new Registry()
    new Counter({ name: 'cachekit_reads_total', help: 'someone else', registers: [registry] })
    expect(() => cacheMetrics(newCache(), { registry })).toThrow(MetricsRegistrationError)
    // Nothing half-registered stays behind.
    expect(registry.getMetricsAsArray().map((m) => (m as unknown as { name: string }).name)).toEqual([
      'cachekit_reads_total',
    ])
    // Another prefix is fine.
    cacheMetrics(newCache(), { registry, prefix: 'edge' }).close()
  })

  it('checks its options', () => {
    const registry = new Registry()
    const cache = newCache()
    expect(() => cacheMetrics(cache, { registry, prefix: 'cache-kit' })).toThrow(MonitoringOptionError)
    expect(() => cacheMetrics(cache, { registry, name: '' })).toThrow(MonitoringOptionError)
    expect(() => cacheMetrics(cache, { registry, buckets: [1, 0.5] })).toThrow(MonitoringOptionError)
    expect(() => cacheMetrics(cache, { registry, keyGroups: [[/x/g, 'x']] })).toThrow(MonitoringOptionError)
    expect(() => cacheMetrics(cache, { registry, keyGroups: [[/x/, '']] })).toThrow(MonitoringOptionError)
  })

  it('keeps the group label bounded whatever keyGroups returns', async () => {
    const registry = new Registry()
    const cache = newCache()
    const metrics = cacheMetrics(cache, { registry, keyGroups: (key) => key }) // a careless mapping
    for (let i = 0; i < 150; i++) await cache.set(`k${i}`, i)
    const groups = (await seriesOf(registry, 'cachekit_writes_total')).map((s) => s.labels.group)
    expect(groups).toHaveLength(101) // 100 distinct groups, then `other`
    expect(groups).toContain('other')
    metrics.close()
    await cache.close()
  })

  it('lint catches what it should: promtool rejects a counter without _total', async () => {
    const registry = new Registry()
    new Counter({ name: 'cachekit_reads', help: 'bad name', registers: [registry] })
    const lint = await promtoolCheck(await registry.metrics())
    expect(lint.output).toMatch(/_total/)
  })
})

describe('Redis gauges on a Cluster', () => {
  it('give one series per master', async () => {
    const { startupNodes } = requireTopology(inject('redis'), 'cluster')
    const client = createRedis({ cluster: startupNodes }) as Cluster
    const registry = new Registry()
    const cache = newCache()
    const metrics = cacheMetrics(cache, { registry, client })
    try {
      await client.set('probe', '1') // waits for the slot map
      const up = await seriesOf(registry, 'cachekit_redis_up')
      const masters = client.nodes('master').map((n) => `${n.options.host}:${n.options.port}`)
      expect(masters).toHaveLength(3)
      expect(up.map((s) => s.labels.node).sort()).toEqual(masters.sort())
      expect(up.every((s) => s.value === 1)).toBe(true)
      const memory = await seriesOf(registry, 'cachekit_redis_memory_used_bytes')
      expect(memory).toHaveLength(3)
    } finally {
      metrics.close()
      await cache.close()
      client.disconnect()
    }
  })
})

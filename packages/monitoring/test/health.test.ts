import { randomUUID } from 'node:crypto'
import { type CacheEntry, createCache } from '@cachekit/core'
import { memoryStore } from '@cachekit/memory'
import { createRedis, redisStore } from '@cachekit/redis'
import { type RedisServerHandle, startStandalone } from '@cachekit/redis-harness'
import type { Redis } from 'ioredis'
import { afterAll, describe, expect, it } from 'vitest'
import {
  checkHealth,
  checkLiveness,
  checkReadiness,
  type HealthReport,
  healthStatusCode,
  MonitoringOptionError,
} from '../src/index.js'
import { until } from './support/until.js'

const statusOf = (report: HealthReport, check: string) => report.checks[check]?.map((r) => r.status)

describe('checkHealth against real servers', () => {
  const servers: RedisServerHandle[] = []
  const clients: Redis[] = []
  const connect = (url: string) => {
    const client = createRedis(url) as Redis
    clients.push(client)
    return client
  }
  afterAll(async () => {
    for (const client of clients) client.disconnect()
    await Promise.all(servers.map((s) => s.stop()))
  })

  it('warns once data fills past 80 % of maxmemory', async () => {
    const server = await startStandalone({ args: ['--maxmemory', '8mb', '--maxmemory-policy', 'noeviction'] })
    servers.push(server)
    const client = connect(server.url)
    const before = await checkHealth({ client })
    expect(before.status).toBe('pass')
    expect(before.checks['redis:memory']?.[0]).toMatchObject({ observedUnit: '%', status: 'pass' })
    const value = 'x'.repeat(10_000)
    for (let i = 0; i < 2_000; i++) {
      await client.set(`fill:${i}`, value)
      if (i % 50 === 0 && (await checkHealth({ client })).status === 'warn') break
    }
    const after = await checkHealth({ client })
    expect(after.status).toBe('warn')
    const memory = after.checks['redis:memory']![0]!
    expect(memory.status).toBe('warn')
    expect(memory.observedValue).toBeGreaterThan(80)
    expect(memory.output).toMatch(/maxmemory/)
    expect(healthStatusCode(after)).toBe(200)
    // Every threshold can be moved: at 99 % the same server passes.
    expect((await checkHealth({ client, thresholds: { memoryUtilization: 99 } })).status).toBe('pass')
  })

  it('warns when maxclients is nearly reached', async () => {
    const server = await startStandalone({ args: ['--maxclients', '20'] })
    servers.push(server)
    const client = connect(server.url)
    expect(statusOf(await checkHealth({ client }), 'redis:connections')).toEqual(['pass'])
    // 19 of 20: 95 %, past the 90 % threshold (18 would be exactly 90 %, not over it).
    for (let i = 0; i < 18; i++) {
      const extra = connect(server.url)
      await extra.ping()
    }
    const report = await checkHealth({ client })
    expect(report.status).toBe('warn')
    const connections = report.checks['redis:connections']![0]!
    expect(connections.status).toBe('warn')
    expect(connections.observedValue).toBeGreaterThan(90)
  })

  it('warns on evictions per second over the threshold, measured between two checks', async () => {
    const server = await startStandalone({
      args: ['--maxmemory', '4mb', '--maxmemory-policy', 'allkeys-lru'],
    })
    servers.push(server)
    const client = connect(server.url)
    const thresholds = { evictionsPerSecond: 1 }
    expect(statusOf(await checkHealth({ client, thresholds }), 'redis:evictions')).toEqual(['pass'])
    const value = 'x'.repeat(10_000)
    for (let i = 0; i < 1_000; i++) await client.set(`fill:${i}`, value) // about 10 MB into 4 MB
    const report = await checkHealth({ client, thresholds })
    const evictions = report.checks['redis:evictions']![0]!
    expect(evictions).toMatchObject({ status: 'warn', observedUnit: 'evictions/s' })
    expect(evictions.observedValue).toBeGreaterThan(1)
    // With the seed threshold (1,000/s) the same rate may or may not pass; a high one surely does.
    expect(
      statusOf(await checkHealth({ client, thresholds: { evictionsPerSecond: 1e9 } }), 'redis:evictions'),
    ).toEqual(['pass'])
  })

  it('warns with the fallback and fails without it while Redis is SIGKILLed, passes once it is back', async () => {
    const server = await startStandalone()
    servers.push(server)
    const client = connect(server.url)
    const prefix = `health:${randomUUID()}`
    const cache = createCache({
      prefix,
      l1: memoryStore<CacheEntry>({ maxEntries: 100 }),
      l2: redisStore({ client, closeClient: false }),
      fallback: memoryStore<CacheEntry>({ maxEntries: 100 }),
      breaker: { failureThreshold: 1, probeInterval: '50ms' },
    })
    const healthy = await checkHealth({ cache, client, fallback: true })
    expect(healthy.status).toBe('pass')
    expect(Object.keys(healthy.checks).sort()).toEqual([
      'cache:fallback',
      'cache:hitRate',
      'redis:connections',
      'redis:evictions',
      'redis:memory',
      'redis:responseTime',
    ])

    await server.kill()
    const withFallback = await checkHealth({ cache, client, fallback: true, timeout: '300ms' })
    expect(withFallback.status).toBe('warn')
    expect(statusOf(withFallback, 'redis:responseTime')).toEqual(['warn'])
    expect(withFallback.checks['redis:memory']).toEqual([]) // nothing measured on a dead server
    expect(healthStatusCode(withFallback)).toBe(200)
    const without = await checkHealth({ client, timeout: '300ms' })
    expect(without.status).toBe('fail')
    expect(healthStatusCode(without)).toBe(503)
    expect((await checkReadiness({ cache, client, fallback: true, timeout: '300ms' })).status).toBe('warn')
    expect((await checkReadiness({ client, timeout: '300ms' })).status).toBe('fail')
    expect(checkLiveness().status).toBe('pass') // liveness never looks at Redis

    // The breaker opens on traffic: the fallback serving is itself a concern.
    await cache.get('k')
    expect(statusOf(await checkHealth({ cache, fallback: true }), 'cache:fallback')).toEqual(['warn'])

    await server.restart()
    expect(
      await until(
        async () => (await checkHealth({ cache, client, fallback: true })).status === 'pass',
        10_000,
      ),
    ).toBe(true)
    await cache.close()
  })
})

describe('checkHealth of the cache alone', () => {
  it('warns on a hit rate under 80 % once there are enough reads, judged since the last check', async () => {
    const cache = createCache({ prefix: 'hr', l1: memoryStore<CacheEntry>({ maxEntries: 100 }) })
    await cache.set('hot', 1)
    for (let i = 0; i < 10; i++) await cache.get(`cold:${i}`)
    // 10 reads: too few to judge.
    expect(statusOf(await checkHealth({ cache }), 'cache:hitRate')).toEqual(['pass'])
    const report = await checkHealth({ cache, thresholds: { minReads: 5 } })
    expect(report.checks['cache:hitRate']).toMatchObject([
      { status: 'warn', observedValue: 0, observedUnit: '%' },
    ])
    // Since then: 20 hits. The window is the last interval, so it passes.
    for (let i = 0; i < 20; i++) await cache.get('hot')
    expect(statusOf(await checkHealth({ cache, thresholds: { minReads: 5 } }), 'cache:hitRate')).toEqual([
      'pass',
    ])
    await cache.close()
  })

  it('refuses a threshold that is not a non-negative number', async () => {
    await expect(checkHealth({ thresholds: { hitRate: -1 } })).rejects.toThrow(MonitoringOptionError)
    await expect(checkHealth({ thresholds: { minReads: Number.NaN } })).rejects.toThrow(MonitoringOptionError)
  })
})

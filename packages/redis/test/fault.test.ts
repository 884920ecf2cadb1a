import { randomUUID } from 'node:crypto'
import { type CacheEntry, createCache, decodeEntry } from '@cachekit/core'
import { memoryStore } from '@cachekit/memory'
import { type RedisServerHandle, startStandalone } from '@cachekit/redis-harness'
import { defaultCodec } from '@cachekit/serializers'
import { Redis } from 'ioredis'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createRedis, redisStore } from '../src/index.js'
import { until } from './support/until.js'

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

describe('Redis dies and comes back', () => {
  let server: RedisServerHandle

  beforeAll(async () => {
    // Its own server: killing the shared one would break every other test file.
    server = await startStandalone()
  })

  afterAll(async () => {
    await server.stop()
  })

  it('serves every call through a SIGKILL and a restart, then goes back to Redis by itself', async () => {
    const prefix = `fault:${randomUUID()}`
    const cache = createCache({
      prefix,
      l1: memoryStore<CacheEntry>({ maxEntries: 1_000 }),
      l2: redisStore({ client: createRedis(server.url) }),
      fallback: memoryStore<CacheEntry>({ maxEntries: 10_000 }),
      // Short lives, so the workers keep going to L2 and to the factory throughout the outage.
      ttl: '300ms',
      l1MaxTtl: '20ms',
    })
    // What happened, in order: the test's own steps and the cache's events.
    const timeline: string[] = []
    cache.on('fallback:open', () => timeline.push('open'))
    cache.on('fallback:close', () => timeline.push('close'))

    const expected = (key: string) => ({ key, payload: `value of ${key}` })
    let calls = 0
    let callsOnFallback = 0
    let rejected = 0
    let wrong = 0
    let stop = false

    const worker = async (id: number) => {
      for (let i = 0; !stop && i < 200_000; i++) {
        const key = `k${(id * 7 + i) % 40}`
        try {
          const value = await cache.getOrSet(key, async () => {
            await sleep(2)
            return expected(key)
          })
          if (JSON.stringify(value) !== JSON.stringify(expected(key))) wrong++
        } catch {
          rejected++
        }
        calls++
        if (cache.stats().usingFallback) callsOnFallback++
        await sleep(1)
      }
    }

    /** Lets the workers run until `count` grew by `n`: each phase is measured in calls, not in time. */
    const phase = async (what: string, count: () => number, n: number) => {
      const from = count()
      expect(await until(() => count() - from >= n, 30_000), what).toBe(true)
    }

    const workers = Array.from({ length: 20 }, (_, id) => worker(id))
    let openedAt = 0
    let restartedAt = 0
    let closedAt = 0
    try {
      await phase('calls on Redis before the kill', () => calls, 2_000)
      timeline.push('kill')
      await server.kill()
      expect(await until(() => timeline.includes('open'), 30_000), 'the breaker to open').toBe(true)
      openedAt = performance.now()
      // A long outage: many calls on the fallback, through several reconnect attempts and probes.
      await phase('calls on the fallback', () => callsOnFallback, 10_000)
      timeline.push('restart')
      await server.restart()
      restartedAt = performance.now()
      expect(await until(() => timeline.includes('close'), 30_000), 'the breaker to close').toBe(true)
      closedAt = performance.now()
      await phase('calls on Redis after the recovery', () => calls, 1_000)
    } finally {
      stop = true
      await Promise.all(workers)
    }

    expect(rejected).toBe(0)
    expect(wrong).toBe(0)
    expect(timeline).toEqual(['kill', 'open', 'restart', 'close'])
    console.info(
      `[fault] on the fallback for ${Math.round(restartedAt - openedAt)} ms, back on Redis ${Math.round(closedAt - restartedAt)} ms after the restart; ${calls} calls, ${callsOnFallback} on the fallback, ${cache.stats().errors} errors counted`,
    )
    expect(cache.stats().usingFallback).toBe(false)
    expect(cache.stats().errors).toBeGreaterThan(0)

    await cache.set('written-after-recovery', { fine: true }, { ttl: '1m' })
    const raw = new Redis(server.url)
    const bytes = await raw.getBuffer(`${prefix}::written-after-recovery`)
    await raw.quit()
    expect(bytes).not.toBeNull()
    expect(decodeEntry(bytes!, defaultCodec(), `${prefix}::written-after-recovery`).value).toEqual({
      fine: true,
    })
    await cache.close()
  }, 120_000)
})

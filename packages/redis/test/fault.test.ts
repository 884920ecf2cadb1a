import { randomUUID } from 'node:crypto'
import { type CacheEntry, createCache, decodeEntry } from '@cachekit/core'
import { memoryStore } from '@cachekit/memory'
import { type RedisServerHandle, startStandalone } from '@cachekit/redis-harness'
import { defaultCodec } from '@cachekit/serializers'
import { Redis } from 'ioredis'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createRedis, redisStore } from '../src/index.js'

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
    const timeline: Array<[event: string, at: number]> = []
    const started = Date.now()
    const at = () => Date.now() - started
    cache.on('fallback:open', () => timeline.push(['open', at()]))
    cache.on('fallback:close', () => timeline.push(['close', at()]))

    const expected = (key: string) => ({ key, payload: `value of ${key}` })
    let calls = 0
    let rejected = 0
    let wrong = 0
    let sawFallback = false
    let restartedAt = Number.POSITIVE_INFINITY
    let backOnRedisAt = Number.POSITIVE_INFINITY
    const runFor = 7_000

    const worker = async (id: number) => {
      for (let i = 0; at() < runFor && i < 100_000; i++) {
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
        const usingFallback = cache.stats().usingFallback
        if (usingFallback) sawFallback = true
        if (!usingFallback && at() > restartedAt && backOnRedisAt === Number.POSITIVE_INFINITY)
          backOnRedisAt = at()
        await sleep(1)
      }
    }

    const chaos = async () => {
      await sleep(1_500)
      await server.kill()
      const killedAt = at()
      await sleep(2_000)
      await server.restart()
      restartedAt = at()
      return killedAt
    }

    const [killedAt] = await Promise.all([chaos(), ...Array.from({ length: 20 }, (_, id) => worker(id))])

    expect(rejected).toBe(0)
    expect(wrong).toBe(0)
    expect(calls).toBeGreaterThan(1_000)
    expect(sawFallback).toBe(true)
    expect(timeline.map(([event]) => event)).toEqual(['open', 'close'])
    expect(timeline[0]![1]).toBeGreaterThanOrEqual(killedAt - 50)
    console.info(
      `[fault] killed at ${killedAt} ms, fallback opened at ${timeline[0]![1]} ms, restarted at ${restartedAt} ms, back on Redis after ${backOnRedisAt - restartedAt} ms; ${calls} calls, ${cache.stats().errors} errors counted`,
    )
    expect(backOnRedisAt - restartedAt).toBeLessThanOrEqual(2_000)
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
  }, 30_000)
})

import { randomUUID } from 'node:crypto'
import { performance } from 'node:perf_hooks'
import { type CacheEntry, type CacheEventMap, createCache, decodeEntry } from '@cachekit/core'
import { memoryStore } from '@cachekit/memory'
import { type RedisServerHandle, startStandalone } from '@cachekit/redis-harness'
import { defaultCodec } from '@cachekit/serializers'
import { Redis } from 'ioredis'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createRedis, redisStore } from '../src/index.js'

const L2_TIMEOUT = 500
/**
 * What a call may wait beyond one l2Timeout: the timeout sweep's tick (50 ms here), timers and a
 * busy machine. A bound on the cache's own waits, not a speed claim: a call that waited twice would
 * wait two timeouts at least, so anything below that tells one wait from two.
 */
const SLACK = 0.9 * L2_TIMEOUT

/** Runs `call` and returns its result with the time it took, ms. */
async function timed<T>(call: () => Promise<T>): Promise<[T, number]> {
  const started = performance.now()
  const result = await call()
  return [result, performance.now() - started]
}

describe('a frozen Redis (SIGSTOP) costs a caller one l2Timeout', () => {
  let server: RedisServerHandle
  let raw: Redis

  beforeAll(async () => {
    server = await startStandalone()
    raw = new Redis(server.url)
  })

  afterAll(async () => {
    await raw.quit()
    await server.stop()
  })

  it('getOrSet, set, get, getMany, has and delete each wait one timeout at most, and later writes win', async () => {
    const prefix = `frozen:${randomUUID()}`
    const cache = createCache({
      prefix,
      l1: memoryStore<CacheEntry>({ maxEntries: 1_000 }),
      l2: redisStore({ client: createRedis(server.url) }),
      fallback: memoryStore<CacheEntry>({ maxEntries: 1_000 }),
      l2Timeout: L2_TIMEOUT,
      // Never opens during the test: every call below really waits on the frozen server.
      breaker: { failureThreshold: 1_000 },
    })
    const errors: Array<CacheEventMap['error']> = []
    cache.on('error', (event) => errors.push(event))
    await cache.set('warm', 'connected') // the first connection is made before the freeze

    const elapsed: Record<string, number> = {}
    await server.freeze()
    try {
      const [value, getOrSetMs] = await timed(() => cache.getOrSet('k', () => 'from the factory'))
      elapsed.getOrSet = getOrSetMs
      expect(value).toBe('from the factory')
      expect(await cache.get('k')).toBe('from the factory') // L1 had it before getOrSet returned

      elapsed.set = (await timed(() => cache.set('s', 'written while frozen')))[1]
      const [missing, getMs] = await timed(() => cache.get('never-written'))
      elapsed.get = getMs
      expect(missing).toBeUndefined()
      const [many, getManyMs] = await timed(() => cache.getMany(['a', 'b']))
      elapsed.getMany = getManyMs
      expect(many).toEqual([undefined, undefined])
      const [present, hasMs] = await timed(() => cache.has('never-written'))
      elapsed.has = hasMs
      expect(present).toBe(false)
      elapsed.delete = (await timed(() => cache.delete('d')))[1]

      // A background write, then a delete of the same key: the delete wins, in L2 and in the fallback.
      expect(await cache.getOrSet('gone', () => 'v1')).toBe('v1')
      await cache.delete('gone')
      expect(await cache.get('gone')).toBeUndefined()
      // A background write, then a set of the same key: the set wins.
      expect(await cache.getOrSet('replaced', () => 'v1')).toBe('v1')
      await cache.set('replaced', 'v2')
      expect(await cache.get('replaced')).toBe('v2')

      expect(cache.stats().usingFallback).toBe(false)
    } finally {
      await server.thaw()
    }

    console.info(
      `[frozen] l2Timeout ${L2_TIMEOUT} ms; waited ${Object.entries(elapsed)
        .map(([call, ms]) => `${call} ${Math.round(ms)} ms`)
        .join(', ')}`,
    )
    for (const [call, ms] of Object.entries(elapsed)) {
      expect(ms, call).toBeGreaterThanOrEqual(0)
      expect(ms, call).toBeLessThan(L2_TIMEOUT + SLACK)
    }
    expect(errors.length).toBeGreaterThan(0)
    expect(errors.every(({ error }) => error.code === 'E_STORE_FAILURE')).toBe(true)

    // Commands sent while frozen run in order once the server is back; one written after them marks
    // the moment they all ran (one connection, one queue).
    await cache.set('marker', 'after the thaw')
    expect(await raw.exists(`${prefix}::marker`)).toBe(1)
    expect(await raw.exists(`${prefix}::gone`)).toBe(0)
    const replaced = await raw.getBuffer(`${prefix}::replaced`)
    expect(replaced && decodeEntry(replaced, defaultCodec(), `${prefix}::replaced`).value).toBe('v2')
    await cache.close()
  })
})

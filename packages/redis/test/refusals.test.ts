import { randomUUID } from 'node:crypto'
import { type CacheEntry, type CacheEventMap, createCache } from '@cachekit/core'
import { memoryStore } from '@cachekit/memory'
import { type RedisServerHandle, startStandalone } from '@cachekit/redis-harness'
import { Redis } from 'ioredis'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createRedis, redisStore, redisTagIndex } from '../src/index.js'
import { until } from './support/until.js'

/**
 * A cache on `url` whose breaker opens at the first failure, so a refusal counted as an outage
 * would show at once as `fallback:open` and `usingFallback`.
 */
function cacheOn(url: string, prefix: string) {
  const cache = createCache({
    prefix,
    l1: memoryStore<CacheEntry>({ maxEntries: 1_000 }),
    l2: redisStore({ client: createRedis(url) }),
    fallback: memoryStore<CacheEntry>({ maxEntries: 1_000 }),
    breaker: { failureThreshold: 1 },
  })
  const errors: Array<CacheEventMap['error']> = []
  const opens: unknown[] = []
  const hits: string[] = []
  cache.on('error', (event) => errors.push(event))
  cache.on('fallback:open', (event) => opens.push(event))
  cache.on('hit', ({ tier }) => hits.push(tier))
  return { cache, errors, opens, hits }
}

describe('Redis out of memory (maxmemory 2mb, noeviction)', () => {
  let server: RedisServerHandle
  let raw: Redis
  const prefix = `oom:${randomUUID()}`

  beforeAll(async () => {
    server = await startStandalone({ args: ['--maxmemory', '2mb', '--maxmemory-policy', 'noeviction'] })
    raw = new Redis(server.url)
    const writer = cacheOn(server.url, prefix)
    await writer.cache.set('existing', { kept: true }, { ttl: '10m' })
    await writer.cache.set('victim', 'old', { ttl: '10m' })
    await writer.cache.close()
    // Fill the memory with raw writes until Redis says OOM; 64 KiB at a time, 200 at most (12.5 MiB).
    const chunk = Buffer.alloc(64 * 1024, 7)
    let full = false
    for (let i = 0; i < 200 && !full; i++) {
      try {
        await raw.set(`${prefix}-filler:${i}`, chunk)
      } catch (error) {
        if (!(error instanceof Error) || !error.message.startsWith('OOM')) throw error
        full = true
      }
    }
    expect(full).toBe(true)
  })

  afterAll(async () => {
    await raw.quit()
    await server.stop()
  })

  it('still serves what Redis holds, refuses writes without opening the breaker, and serves no refused value', async () => {
    const { cache, errors, opens, hits } = cacheOn(server.url, prefix)

    expect(await cache.get('existing')).toEqual({ kept: true })
    expect(hits).toEqual(['l2'])
    expect(await cache.get('victim')).toBe('old') // now in L1 too

    await cache.set('victim', 'new')
    expect(errors.map(({ error, operation }) => [error.code, operation])).toEqual([
      ['E_STORE_REFUSED', 'set'],
    ])
    expect((errors[0]!.error.cause as Error).message).toMatch(/^OOM command not allowed/)
    // Neither the refused value (L1 had it for a moment) nor the old one (DEL works under OOM).
    expect(await cache.get('victim')).toBeUndefined()
    expect(await cache.has('victim')).toBe(false)
    expect(await raw.exists(`${prefix}::victim`)).toBe(0)

    expect(await cache.getOrSet('fresh', () => 'made by the factory')).toBe('made by the factory')
    expect(await until(() => errors.length === 2)).toBe(true)
    expect(errors[1]!.error.code).toBe('E_STORE_REFUSED')
    expect(await until(async () => (await cache.get('fresh')) === undefined)).toBe(true)

    await cache.setMany([
      { key: 'm1', value: 1 },
      { key: 'm2', value: 2 },
    ])
    expect(await cache.getMany(['m1', 'm2'])).toEqual([undefined, undefined])

    // Reads went on hitting Redis throughout.
    const fresh = cacheOn(server.url, prefix)
    expect(await fresh.cache.get('existing')).toEqual({ kept: true })
    expect(fresh.hits).toEqual(['l2'])

    expect(opens).toEqual([])
    expect(cache.stats()).toMatchObject({ usingFallback: false, refused: 3, errors: 3 })
    await Promise.all([cache.close(), fresh.cache.close()])
  })

  it('a tag invalidation Redis refuses is emitted as E_STORE_REFUSED, not as an outage', async () => {
    const tagged = createCache({
      prefix: `${prefix}-tags`,
      l2: redisStore({ client: createRedis(server.url) }),
      tagIndex: redisTagIndex({ client: createRedis(server.url), prefix: `${prefix}-tag-times:` }),
      breaker: { failureThreshold: 1 },
    })
    const errors: Array<CacheEventMap['error']> = []
    tagged.on('error', (event) => errors.push(event))
    await tagged.invalidateTags(['products'])
    expect(errors.map(({ error }) => error.code)).toEqual(['E_STORE_REFUSED'])
    expect(tagged.stats().usingFallback).toBe(false)
    await tagged.close()
  })
})

describe('a read-only replica', () => {
  let master: RedisServerHandle
  let replica: RedisServerHandle
  let onReplica: Redis
  const prefix = `readonly:${randomUUID()}`

  beforeAll(async () => {
    master = await startStandalone()
    replica = await startStandalone({ args: ['--replicaof', '127.0.0.1', String(master.port)] })
    onReplica = new Redis(replica.url)
    const writer = cacheOn(master.url, prefix)
    await writer.cache.set('existing', 'on the replica', { ttl: '10m' })
    await writer.cache.set('victim', 'old', { ttl: '10m' })
    await writer.cache.set('to-delete', 'old', { ttl: '10m' })
    await writer.cache.close()
    const replicated = await until(async () => (await onReplica.exists(`${prefix}::to-delete`)) === 1, 10_000)
    expect(replicated).toBe(true)
  })

  afterAll(async () => {
    await onReplica.quit()
    await replica.stop()
    await master.stop()
  })

  it('serves what the replica holds, and nothing it refused to change', async () => {
    const { cache, errors, opens, hits } = cacheOn(replica.url, prefix)

    expect(await cache.get('existing')).toBe('on the replica')
    expect(hits).toEqual(['l2'])

    await cache.set('victim', 'new')
    expect(errors.map(({ error }) => error.code)).toEqual(['E_STORE_REFUSED'])
    expect((errors[0]!.error.cause as Error).message).toMatch(/^READONLY/)
    // The replica refused the DEL of the old copy too: it is still there, and not served here.
    expect(await onReplica.exists(`${prefix}::victim`)).toBe(1)
    expect(await cache.get('victim')).toBeUndefined()
    expect(await cache.has('victim')).toBe(false)
    expect(await cache.getMany(['victim', 'existing'])).toEqual([undefined, 'on the replica'])

    expect(await cache.getOrSet('fresh', () => 'made by the factory')).toBe('made by the factory')
    expect(await until(async () => (await cache.get('fresh')) === undefined)).toBe(true)

    expect(await cache.delete('to-delete')).toBe(false)
    expect(await onReplica.exists(`${prefix}::to-delete`)).toBe(1)
    expect(await cache.get('to-delete')).toBeUndefined()

    expect(opens).toEqual([])
    expect(cache.stats().usingFallback).toBe(false)
    expect(errors.every(({ error }) => error.code === 'E_STORE_REFUSED')).toBe(true)

    // A newer value written on the master reaches the replica and is served.
    const writer = cacheOn(master.url, prefix)
    await writer.cache.set('victim', 'newer', { ttl: '10m' })
    expect(await until(async () => (await cache.get('victim')) === 'newer')).toBe(true)
    await Promise.all([cache.close(), writer.cache.close()])
  })
})

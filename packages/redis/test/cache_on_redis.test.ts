import { randomUUID } from 'node:crypto'
import { type CacheEntry, type CacheEventMap, createCache, decodeEntry } from '@cachekit/core'
import { memoryStore } from '@cachekit/memory'
import { requireTopology } from '@cachekit/redis-harness'
import { defaultCodec } from '@cachekit/serializers'
import { Redis } from 'ioredis'
import { afterAll, describe, expect, inject, it } from 'vitest'
import { createRedis, redisStore } from '../src/index.js'

const redis = inject('redis')
const standalone = requireTopology(redis, 'standalone')
const cluster = requireTopology(redis, 'cluster')
const raw = new Redis(standalone.url)

afterAll(async () => {
  await raw.quit()
})

function cacheOn(client: ReturnType<typeof createRedis>) {
  const prefix = `cache-test:${randomUUID()}`
  const cache = createCache({
    prefix,
    l1: memoryStore<CacheEntry>({ maxEntries: 10_000 }),
    l2: redisStore({ client }),
    fallback: memoryStore<CacheEntry>({ maxEntries: 10_000 }),
  })
  const errors: Array<CacheEventMap['error']> = []
  cache.on('error', (event) => errors.push(event))
  return { cache, prefix, errors }
}

describe('Cache on Redis', () => {
  it('writes framed, encoded entries that another process can read', async () => {
    const { cache, prefix } = cacheOn(createRedis(standalone.url))
    const otherView = createCache({ prefix, l2: redisStore({ client: createRedis(standalone.url) }) })
    await cache.set('user:1', { id: 1, tags: new Set(['a']), at: new Date(0) }, { ttl: '1m' })
    const bytes = await raw.getBuffer(`${prefix}::user:1`)
    expect(decodeEntry(bytes!, defaultCodec(), `${prefix}::user:1`).value).toEqual({
      id: 1,
      tags: new Set(['a']),
      at: new Date(0),
    })
    expect(await otherView.get('user:1')).toEqual({ id: 1, tags: new Set(['a']), at: new Date(0) })
    const ttl = await raw.pttl(`${prefix}::user:1`)
    expect(ttl).toBeGreaterThan(50_000)
    expect(ttl).toBeLessThanOrEqual(60_000)
    await Promise.all([cache.close(), otherView.close()])
  })

  it('reads garbage bytes in Redis as a miss and emits E_CODEC_DECODE', async () => {
    const { cache, prefix, errors } = cacheOn(createRedis(standalone.url))
    await raw.set(`${prefix}::corrupt`, Buffer.from([0xce, 0x01, 0xff, 0x00, 0x13, 0x37]))
    await raw.set(`${prefix}::foreign`, 'written by some other program')
    expect(await cache.get('corrupt')).toBeUndefined()
    expect(await cache.get('foreign')).toBeUndefined()
    expect(errors.map(({ error, key }) => [error.code, key])).toEqual([
      ['E_CODEC_DECODE', `${prefix}::corrupt`],
      ['E_CODEC_DECODE', `${prefix}::foreign`],
    ])
    expect(await cache.getOrSet('corrupt', () => 'rebuilt')).toBe('rebuilt')
    await cache.close()
  })

  it('runs the factory once for 1,000 concurrent cold calls', async () => {
    const { cache } = cacheOn(createRedis(standalone.url))
    let calls = 0
    const values = await Promise.all(
      Array.from({ length: 1_000 }, () =>
        cache.getOrSet('cold', async () => {
          calls++
          await new Promise((resolve) => setTimeout(resolve, 20))
          return 'built once'
        }),
      ),
    )
    expect(calls).toBe(1)
    expect(new Set(values)).toEqual(new Set(['built once']))
    await cache.close()
  })

  it('groups batches by slot on a cluster and deletes by pattern on every master', async () => {
    const { cache, prefix } = cacheOn(createRedis({ cluster: cluster.startupNodes }))
    const keys = Array.from({ length: 300 }, (_, i) => `item:${i}`)
    await cache.setMany(keys.map((key, i) => ({ key, value: { i } })))
    // A second cache with the same prefix and no L1 reads what the first wrote, straight from the cluster.
    const reader = createCache({
      prefix,
      l2: redisStore({ client: createRedis({ cluster: cluster.startupNodes }) }),
    })
    expect(await reader.getMany(keys)).toEqual(keys.map((_, i) => ({ i })))
    expect(await cache.deleteMatching('item:1*')).toBe(111)
    const remaining = await reader.getMany(keys)
    expect(remaining.filter((value) => value !== undefined)).toHaveLength(189)
    await cache.clear()
    expect((await reader.getMany(keys)).every((value) => value === undefined)).toBe(true)
    await Promise.all([cache.close(), reader.close()])
  })
})

import { randomUUID } from 'node:crypto'
import { type CacheEntry, type CacheEventMap, createCache, glob } from '@cachekit/core'
import { memoryStore } from '@cachekit/memory'
import { type ConnectionOptions, createRedis, redisStore, redisTagIndex } from '@cachekit/redis'
import { requireTopology } from '@cachekit/redis-harness'
import type { Cluster, Redis } from 'ioredis'
import { afterEach, describe, expect, inject, it } from 'vitest'
import { redisBus } from '../src/index.js'
import { resources, sleep, waitFor } from './helpers.js'

const standalone = requireTopology(inject('redis'), 'standalone')
const cluster = requireTopology(inject('redis'), 'cluster')
const open = resources()
afterEach(() => open.closeAll())

const topologies: Array<[string, () => ConnectionOptions | string]> = [
  ['standalone', () => standalone.url],
  ['cluster', () => ({ cluster: cluster.startupNodes })],
]

/** Every key of the keyspace matching `pattern`, on every master. */
async function keysMatching(client: Redis | Cluster, pattern: string): Promise<string[]> {
  const nodes = 'nodes' in client ? client.nodes('master') : [client]
  const keys: string[] = []
  for (const node of nodes) {
    let cursor = '0'
    do {
      const [next, batch] = await node.scan(cursor, 'MATCH', pattern, 'COUNT', 500)
      cursor = next
      keys.push(...batch)
    } while (cursor !== '0')
  }
  return keys
}

describe.each(topologies)('tags and dependencies on Redis (%s)', (_name, connection) => {
  /** One process of an app: L1, Redis as L2, a Redis tag index and the bus. */
  function instance(prefix: string) {
    const client = () => open.client(createRedis(connection()))
    const cache = createCache({
      prefix,
      l1: memoryStore<CacheEntry>({ maxEntries: 10_000 }),
      l2: redisStore({ client: client() }),
      tagIndex: redisTagIndex({ client: client(), prefix: `${prefix}-tags:` }),
      bus: open.bus(redisBus({ client: client() })),
      trackDependencies: true,
      tagCleanup: { batchSize: 100, pause: 0 },
    })
    return cache
  }

  it('a tag invalidated in process A makes the next read in process B miss', async () => {
    const prefix = `tags:${randomUUID()}`
    const a = instance(prefix)
    const b = instance(prefix)
    await Promise.all([a.ready(), b.ready()])
    const keys = Array.from({ length: 200 }, (_, i) => `product:${i}`)
    await a.setMany(keys.map((key, i) => ({ key, value: { i }, tags: ['products', `page:${i % 10}`] })))
    expect(await b.getMany(keys)).toEqual(keys.map((_, i) => ({ i })))
    expect(await b.get('product:7')).toEqual({ i: 7 }) // an L1 hit in B

    await a.invalidateTags(['page:7'])
    await waitFor("B to hear of A's invalidation", async () => (await b.get('product:7')) === undefined)
    expect(await b.has('product:17')).toBe(false)
    expect(await b.get('product:8')).toEqual({ i: 8 })

    await a.invalidateTags(['products'])
    await waitFor('B to miss every product', async () =>
      (await b.getMany(keys)).every((value) => value === undefined),
    )
    // A process started after the invalidation reads the tag's time from Redis.
    const c = instance(prefix)
    expect(await c.get('product:8')).toBeUndefined()
    await Promise.all([a.close(), b.close(), c.close()])
  })

  it('removes invalidated keys from Redis in the background, on every master', async () => {
    const prefix = `sweep:${randomUUID()}`
    const cache = instance(prefix)
    const raw = open.client(createRedis(connection()))
    await cache.setMany(Array.from({ length: 250 }, (_, i) => ({ key: `old:${i}`, value: i, tags: ['old'] })))
    await cache.setMany(Array.from({ length: 50 }, (_, i) => ({ key: `new:${i}`, value: i, tags: ['new'] })))
    const done = new Promise<CacheEventMap['tags:cleanup']>((resolve) => cache.on('tags:cleanup', resolve))
    await cache.invalidateTags(['old'])
    const report = await done
    expect(report.removed).toBeGreaterThanOrEqual(250)
    expect(await keysMatching(raw, `${prefix}::old:*`)).toEqual([])
    expect(await keysMatching(raw, `${prefix}::new:*`)).toHaveLength(50)
    await cache.close()
  })

  it('invalidates dependents across processes when a dependency changes', async () => {
    const prefix = `deps:${randomUUID()}`
    const a = instance(prefix)
    const b = instance(prefix)
    await Promise.all([a.ready(), b.ready()])
    await a.set('user:42', { name: 'Ada' })
    await a.getOrSet('dashboard:42', async () => `board of ${(await a.get('user:42')) as string}`, {
      dependsOn: ['user:42'],
      tags: ['orders'],
    })
    expect(await b.get('dashboard:42')).toBeDefined()
    await b.set('user:42', { name: 'Ada L.' })
    await waitFor(
      "A to drop the dashboard after B's write",
      async () => (await a.get('dashboard:42')) === undefined,
    )
    await Promise.all([a.close(), b.close()])
  })

  it('a lazy invalidation serves the stale value while one refresh runs', async () => {
    const prefix = `lazy:${randomUUID()}`
    const a = instance(prefix)
    const b = instance(prefix)
    await Promise.all([a.ready(), b.ready()])
    let version = 1
    let calls = 0
    const load = async () => {
      calls++
      return `v${version}`
    }
    expect(await b.getOrSet('menu', load, { tags: ['menu'], grace: '1m' })).toBe('v1')
    version = 2
    await a.invalidateTags(['menu'], { strategy: 'lazy' })
    // Across processes, an entry created in the very millisecond of an invalidation counts as
    // invalidated (the safe side of a tie); B's refresh must start in a later one to be counted once.
    await sleep(3)
    await waitFor('B to see the stale value refreshed', async () => {
      const value = await b.getOrSet('menu', load, { tags: ['menu'], grace: '1m' })
      return value === 'v2'
    })
    expect(calls).toBe(2)
    await Promise.all([a.close(), b.close()])
  })

  it("a user's glob characters never widen a pattern delete", async () => {
    const prefix = `glob:${randomUUID()}`
    const cache = instance(prefix)
    await cache.setMany(['alice', 'bob', '*'].map((user) => ({ key: `session:${user}:1`, value: user })))
    expect(await cache.deleteMatching(glob`session:${'*'}:*`)).toBe(1)
    expect(await cache.getMany(['session:alice:1', 'session:bob:1'])).toEqual(['alice', 'bob'])
    expect(await cache.deleteMatching(glob`session:${'al?ce'}:*`)).toBe(0)
    await cache.close()
  })

  it('namespace("a*").clear() never touches namespace "ab"', async () => {
    const prefix = `ns:${randomUUID()}`
    const cache = instance(prefix)
    await cache.namespace('a*').set('k', 'star')
    await cache.namespace('ab').set('k', 'ab')
    await cache.namespace('a*').clear()
    expect(await cache.namespace('a*').get('k')).toBeUndefined()
    expect(await cache.namespace('ab').get('k')).toBe('ab')
    expect(await cache.namespace('ab').deleteMatching('*')).toBe(1)
    await cache.close()
  })
})

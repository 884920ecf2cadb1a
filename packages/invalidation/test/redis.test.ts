import { randomUUID } from 'node:crypto'
import { createCache } from '@cachekit/core'
import { memoryStore } from '@cachekit/memory'
import { redisBus } from '@cachekit/pubsub'
import { createRedis, redisStore, redisTagIndex } from '@cachekit/redis'
import { requireTopology } from '@cachekit/redis-harness'
import { afterEach, describe, expect, inject, it, vi } from 'vitest'
import { invalidates } from '../src/index.js'
import { waitFor } from './helpers.js'

const { url } = requireTopology(inject('redis'), 'standalone')

/** Everything a test opened, closed after it whatever happened. */
const closers: Array<() => Promise<unknown>> = []
afterEach(async () => {
  for (const close of closers.splice(0).reverse()) await close().catch(() => undefined)
})

function client() {
  const redis = createRedis(url)
  closers.push(async () => {
    if (redis.status !== 'end') await redis.quit().catch(() => redis.disconnect())
  })
  return redis
}

/**
 * One instance of an app: L1 in memory, L2, tag times and the bus on Redis. Two connections: one for
 * the store and the tag index, one for the bus (which duplicates it for its subscriber).
 */
function instance(prefix: string, options: { throwErrors?: boolean } = {}) {
  const data = client()
  const bus = redisBus({ client: client() })
  const cache = createCache({
    prefix,
    l1: memoryStore({ maxEntries: 1_000 }),
    l2: redisStore({ client: data, closeClient: false }),
    tagIndex: redisTagIndex({ client: data, prefix: `${prefix}:`, closeClient: false }),
    bus,
    ttl: '1m',
    ...options,
  })
  closers.push(
    () => cache.close(),
    () => bus.close(),
  )
  return { cache, data }
}

describe('on Redis, across instances', () => {
  it('a mutation wrapped on instance A makes B’s next read of a tagged key miss', async () => {
    const prefix = `invalidation:${randomUUID()}`
    const a = instance(prefix)
    const b = instance(prefix)
    await Promise.all([a.cache.ready(), b.cache.ready()])
    const db = new Map([['1', 'Ada']])

    const load = vi.fn((id: string) => db.get(id)!)
    const readOnB = (id: string) => b.cache.getOrSet(`user:${id}`, () => load(id), { tags: [`user:${id}`] })
    expect(await readOnB('1')).toBe('Ada')
    expect(await b.cache.get('user:1')).toBe('Ada') // now in B's L1
    expect(load).toHaveBeenCalledTimes(1)

    const rename = invalidates(
      a.cache,
      (_, id) => ({ tags: [`user:${id}`] }),
      async (id: string, name: string) => {
        db.set(id, name)
      },
    )
    await rename('1', 'Ada Lovelace')

    // The tag time reaches B over the bus, within one round trip.
    await waitFor('B to miss user:1', async () => (await b.cache.get('user:1')) === undefined)
    expect(await readOnB('1')).toBe('Ada Lovelace')
    expect(load).toHaveBeenCalledTimes(2)
    expect(await a.cache.get('user:1')).toBe('Ada Lovelace')
  })

  it('a mutation that fails on A leaves B serving its copy', async () => {
    const prefix = `invalidation:${randomUUID()}`
    const a = instance(prefix)
    const b = instance(prefix)
    await Promise.all([a.cache.ready(), b.cache.ready()])
    await b.cache.set('user:1', 'Ada', { tags: ['user:1'] })

    const rename = invalidates(a.cache, { tags: ['user:1'] }, async (_id: string) => {
      throw new Error('write refused')
    })
    await expect(rename('1')).rejects.toThrow('write refused')

    // A later write from A reaches B: by then an invalidation would have too.
    await a.cache.set('marker', 1)
    await waitFor('B to see the marker', async () => (await b.cache.get('marker')) === 1)
    expect(await b.cache.get('user:1')).toBe('Ada')
  })

  it('with throwErrors, a Redis failure during the invalidation rejects the call after the mutation ran', async () => {
    const prefix = `invalidation:${randomUUID()}`
    const a = instance(prefix, { throwErrors: true })
    await a.cache.ready()
    await a.cache.set('user:1', 'Ada')
    const db = new Map([['1', 'Ada']])
    const rename = invalidates(
      a.cache,
      (_, id) => ({ keys: [`user:${id}`] }),
      async (id: string, name: string) => {
        db.set(id, name)
      },
    )
    a.data.disconnect() // the store's connection is gone for good

    await expect(rename('1', 'Ada Lovelace')).rejects.toMatchObject({ code: 'E_STORE_FAILURE' })
    expect(db.get('1')).toBe('Ada Lovelace')
  })
})

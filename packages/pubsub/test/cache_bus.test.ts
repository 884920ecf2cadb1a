import { randomUUID } from 'node:crypto'
import { type CacheEntry, createCache } from '@cachekit/core'
import { memoryStore } from '@cachekit/memory'
import { createRedis, redisStore } from '@cachekit/redis'
import { requireTopology } from '@cachekit/redis-harness'
import { Redis } from 'ioredis'
import { afterEach, describe, expect, inject, it } from 'vitest'
import { redisBus } from '../src/index.js'
import { busConnections, resources, waitFor, watch } from './helpers.js'

const { url } = requireTopology(inject('redis'), 'standalone')
const open = resources()
afterEach(() => open.closeAll())

/** One instance of an app: a cache with an L1, Redis as L2, and the bus. */
function instance(prefix: string) {
  const bus = open.bus(redisBus({ client: open.client(createRedis(url)) }))
  const cache = createCache({
    prefix,
    l1: memoryStore<CacheEntry>({ maxEntries: 1_000 }),
    l2: redisStore({ client: open.client(createRedis(url)) }),
    bus,
    ttl: '1m',
  })
  return { bus, cache }
}

describe('as the bus of createCache', () => {
  it("drops another instance's L1 copy when a key changes", async () => {
    const prefix = `cache-bus:${randomUUID()}`
    const a = instance(prefix)
    const b = instance(prefix)
    await Promise.all([a.cache.ready(), b.cache.ready()])

    await a.cache.set('user:1', 'v1')
    expect(await b.cache.get('user:1')).toBe('v1') // now in B's L1
    await a.cache.set('user:1', 'v2')
    await waitFor('B to see v2', async () => (await b.cache.get('user:1')) === 'v2')
    await a.cache.delete('user:1')
    await waitFor('B to see the delete', async () => (await b.cache.get('user:1')) === undefined)
    await Promise.all([a.cache.close(), b.cache.close()])
  })

  it('clears the L1 when the subscriber connection drops, so a change missed meanwhile is not served', async () => {
    const prefix = `cache-bus:${randomUUID()}`
    const b = instance(prefix)
    const { losses } = watch(b.bus)
    // A writer without a bus: its changes reach L2 only, as if their messages had been lost.
    const silent = createCache({ prefix, l2: redisStore({ client: open.client(createRedis(url)) }) })
    await b.cache.ready()
    await silent.set('user:1', 'v1')
    expect(await b.cache.get('user:1')).toBe('v1')
    await silent.set('user:1', 'v2')
    expect(await b.cache.get('user:1')).toBe('v1') // served from B's L1: B was never told

    const raw = open.client(new Redis(url))
    const [connection] = await busConnections(raw, b.bus.instanceId)
    await raw.client('KILL', 'ID', connection!.id!)
    await waitFor('the drop', () => losses.length >= 1)
    expect(await b.cache.get('user:1')).toBe('v2')
    await Promise.all([b.cache.close(), silent.close()])
  })
})

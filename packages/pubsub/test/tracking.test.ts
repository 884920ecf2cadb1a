import { execFileSync } from 'node:child_process'
import { randomUUID } from 'node:crypto'
import { type CacheEntry, createCache } from '@cachekit/core'
import { memoryStore } from '@cachekit/memory'
import { createRedis, redisStore } from '@cachekit/redis'
import { requireTopology } from '@cachekit/redis-harness'
import { Redis } from 'ioredis'
import { afterAll, afterEach, describe, expect, inject, it } from 'vitest'
import { redisBus } from '../src/index.js'
import { resources, sleep, waitFor } from './helpers.js'

const { url } = requireTopology(inject('redis'), 'standalone')
const open = resources()
const raw = new Redis(url) // another program, e.g. redis-cli
afterEach(() => open.closeAll())
afterAll(() => raw.quit())

/** The store and the bus share one client: tracking follows the connection that writes. */
function trackedCache(prefix: string) {
  const client = open.client(createRedis(url))
  const l1 = memoryStore<CacheEntry>({ maxEntries: 1_000 })
  const bus = open.bus(redisBus({ client }))
  const cache = createCache({
    prefix,
    l1,
    l2: redisStore({ client, closeClient: false }),
    bus,
    tracking: true,
  })
  return { cache, l1, bus }
}

describe('Redis client-side tracking', () => {
  it('drops the L1 copy when redis-cli writes the key, and keeps it for its own writes', async () => {
    const prefix = `tracked:${randomUUID()}`
    const { cache, l1 } = trackedCache(prefix)
    await cache.ready()
    await cache.set('own', 'mine')
    await cache.set('k', 'v1')
    expect(l1.getSync(`${prefix}::k`)).toBeDefined()

    execFileSync('redis-cli', ['-u', url, 'DEL', `${prefix}::k`])
    await waitFor('the L1 copy of k to go', () => l1.getSync(`${prefix}::k`) === undefined, 3_000)
    expect(await cache.get('k')).toBeUndefined()

    // NOLOOP: our own write is not reported back. Had it been, its report would have come before the
    // one for k (Redis sends them in the order of the writes), so there is nothing left to wait for.
    expect(l1.getSync(`${prefix}::own`)?.value).toBe('mine')
  })

  it('does not watch keys outside its prefix', async () => {
    const prefix = `tracked:${randomUUID()}`
    const { cache, l1 } = trackedCache(prefix)
    await cache.ready()
    await cache.set('k', 'v')
    await cache.set('marker', 'v')
    await raw.set(`other:${prefix}::k`, 'x')
    // A write under the prefix, after it on the same connection: its report would follow one for the other key.
    await raw.set(`${prefix}::marker`, 'x')
    await waitFor('the L1 copy of marker to go', () => l1.getSync(`${prefix}::marker`) === undefined, 3_000)
    expect(l1.getSync(`${prefix}::k`)).toBeDefined()
  })

  it('clears L1 when the tracking connection drops, and tracks again after it reconnects', async () => {
    const prefix = `tracked:${randomUUID()}`
    const { cache, l1, bus } = trackedCache(prefix)
    await cache.ready()
    await cache.set('a', 1)
    const list = String(await raw.client('LIST'))
    const trackingConnection = list
      .split('\n')
      .find((line) => line.includes(`name=cachekit-tracking:${bus.instanceId}`))
    expect(trackingConnection).toBeDefined()
    const id = /id=(\d+)/.exec(trackingConnection!)![1]!
    await raw.client('KILL', 'ID', id)
    await waitFor('L1 to be cleared', () => l1.getSync(`${prefix}::a`) === undefined, 3_000)

    await cache.set('b', 2)
    await waitFor('tracking to be back', async () => {
      await cache.set('probe', Date.now())
      await raw.set(`${prefix}::probe`, 'external')
      await sleep(20)
      return l1.getSync(`${prefix}::probe`) === undefined
    })
  })

  it('is refused on a cluster with a typed error', async () => {
    const cluster = requireTopology(inject('redis'), 'cluster')
    const client = open.client(createRedis({ cluster: cluster.startupNodes }))
    const bus = open.bus(redisBus({ client }))
    await expect(bus.trackKeys('x', () => undefined)).rejects.toThrow(/standalone or Sentinel/)
  })
})

import { createCache as createCacheManager } from 'cache-manager'
import Keyv from 'keyv'
import { afterEach, describe, expect, it } from 'vitest'
import { keyvStore } from '../src/index.js'
import { cacheOn, type Topology, uniquePrefix } from './helpers.js'

const closers: Array<() => Promise<unknown>> = []
afterEach(async () => {
  for (const close of closers.splice(0)) await close()
})

describe.each(['standalone', 'cluster'] as Topology[])('cache-manager 7 over keyvStore on %s', (topology) => {
  function setup() {
    const cache = cacheOn(topology)
    const store = keyvStore(cache)
    const manager = createCacheManager({ stores: [new Keyv({ store })] })
    closers.push(() => manager.disconnect())
    return { cache, manager, store }
  }

  it('get, set, mget, del and clear', async () => {
    const { manager, cache } = setup()
    await manager.set('user:1', { name: 'Ada' }, 60_000)
    expect(await manager.get('user:1')).toEqual({ name: 'Ada' })
    expect(await manager.get('user:missing')).toBeUndefined()
    await manager.mset([
      { key: 'a', value: 1 },
      { key: 'b', value: 2, ttl: 60_000 },
    ])
    expect(await manager.mget(['a', 'missing', 'b'])).toEqual([1, undefined, 2])
    await manager.del('a')
    expect(await manager.get('a')).toBeUndefined()
    // Entries live in the cachekit cache underneath, under Keyv's namespace.
    expect(await cache.namespace('keyv').has('b')).toBe(true)
    await manager.clear()
    expect(await manager.get('b')).toBeUndefined()
    expect(await manager.get('user:1')).toBeUndefined()
  })

  it('a TTL expires the entry', async () => {
    const { manager } = setup()
    await manager.set('short', 'v', 100)
    expect(await manager.get('short')).toBe('v')
    const deadline = Date.now() + 5_000
    while ((await manager.get('short')) !== undefined && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 20))
    }
    expect(await manager.get('short')).toBeUndefined()
  })

  it('wrap calls the function once for concurrent callers of one key, and serves the cache after', async () => {
    const { manager } = setup()
    let calls = 0
    const load = async () => {
      calls++
      await new Promise((resolve) => setTimeout(resolve, 20))
      return { loaded: calls }
    }
    const results = await Promise.all(Array.from({ length: 10 }, () => manager.wrap('report', load, 60_000)))
    expect(calls).toBe(1)
    for (const result of results) expect(result).toEqual({ loaded: 1 })
    expect(await manager.wrap('report', load, 60_000)).toEqual({ loaded: 1 })
    expect(calls).toBe(1)
  })

  it('two instances of an app (two caches, one prefix, one Redis) share entries through L2', async () => {
    const prefix = uniquePrefix()
    const managers = [cacheOn(topology, { prefix }), cacheOn(topology, { prefix })].map((cache) => {
      const manager = createCacheManager({ stores: [new Keyv({ store: keyvStore(cache) })] })
      closers.push(() => manager.disconnect())
      return manager
    })
    await managers[0]!.set('shared', 'from the first', 60_000)
    expect(await managers[1]!.get('shared')).toBe('from the first')
    await managers[1]!.del('shared')
    expect(await managers[1]!.get('shared')).toBeUndefined()
  })
})

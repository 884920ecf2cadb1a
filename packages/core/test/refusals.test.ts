import { afterEach, describe, expect, it } from 'vitest'
import { type CacheEntry, type CacheEventMap, type CacheOptions, createCache } from '../src/index.js'
import { jsonTestCodec } from './support/json_codec.js'
import { MapStore } from './support/map_store.js'
import { until } from './support/until.js'

const opened: Array<{ close(): Promise<void> }> = []
afterEach(async () => {
  await Promise.all(opened.splice(0).map((cache) => cache.close()))
})

/** A cache whose breaker would open at the first failure: any refusal counted as one would show. */
function setup(overrides: Partial<CacheOptions> = {}, shared?: { l2: MapStore<Uint8Array> }) {
  const l1 = new MapStore<CacheEntry>({ name: 'l1' })
  const l2 = shared?.l2 ?? new MapStore<Uint8Array>({ name: 'l2', kind: 'remote' })
  const fallback = new MapStore<CacheEntry>({ name: 'fallback' })
  const cache = createCache({
    prefix: 'app',
    l1,
    l2,
    fallback,
    codec: jsonTestCodec(),
    breaker: { failureThreshold: 1 },
    ...overrides,
  })
  opened.push(cache)
  const errors: Array<CacheEventMap['error']> = []
  cache.on('error', (event) => errors.push(event))
  const opens: unknown[] = []
  cache.on('fallback:open', (event) => opens.push(event))
  return { cache, l1, l2, fallback, errors, opens }
}

describe('a store that refuses (the server is up and said no)', () => {
  it('never opens the breaker: reads keep going to L2 and still hit there', async () => {
    const { cache, l1, l2, errors, opens } = setup()
    await cache.set('existing', 'in redis')
    await l1.clear()
    l2.refuse.add('set')
    await cache.set('k', 'refused')
    await cache.set('k2', 'refused too')
    const tiers: string[] = []
    cache.on('hit', ({ tier }) => tiers.push(tier))
    expect(await cache.get('existing')).toBe('in redis')
    expect(tiers).toEqual(['l2'])
    expect(opens).toEqual([])
    expect(cache.stats()).toMatchObject({ usingFallback: false, refused: 2, errors: 2 })
    expect(errors.map(({ error, operation, key }) => [error.code, operation, key])).toEqual([
      ['E_STORE_REFUSED', 'set', 'app::k'],
      ['E_STORE_REFUSED', 'set', 'app::k2'],
    ])
    expect(errors[0]!.error.cause).toBeInstanceOf(Error)
  })

  it('a refused write is not cached: not in L1, and its old copy is deleted from L2', async () => {
    const { cache, l1, l2 } = setup()
    await cache.set('k', 'old')
    l2.refuse.add('set')
    await cache.set('k', 'new')
    expect(l1.getSync!('app::k')).toBeUndefined()
    expect(await l2.get('app::k')).toBeUndefined()
    expect(await cache.get('k')).toBeUndefined()
    expect(await cache.has('k')).toBe(false)

    await cache.setMany([
      { key: 'm1', value: 1 },
      { key: 'm2', value: 2 },
    ])
    expect(await cache.getMany(['m1', 'm2'])).toEqual([undefined, undefined])
    expect(cache.stats().sets).toBe(1) // only the first write of `k` was cached
  })

  it('getOrSet returns the factory value; the refused write leaves nothing behind', async () => {
    const { cache, l1, l2, errors } = setup()
    l2.refuse.add('set')
    expect(await cache.getOrSet('k', () => 'made')).toBe('made')
    // The L2 write runs after the value is returned; once refused, the L1 copy goes too.
    expect(await until(() => errors.length === 1)).toBe(true)
    expect(errors[0]!.error.code).toBe('E_STORE_REFUSED')
    expect(await until(() => l1.getSync!('app::k') === undefined)).toBe(true)
    expect(await cache.get('k')).toBeUndefined()
    l2.refuse.delete('set')
    expect(await cache.getOrSet('k', () => 'made again')).toBe('made again')
    expect(await until(async () => (await l2.get('app::k')) !== undefined)).toBe(true)
  })

  it('when the old copy cannot be deleted either (read-only), this process reads it as a miss', async () => {
    const l2 = new MapStore<Uint8Array>({ name: 'l2', kind: 'remote' })
    const { cache } = setup({}, { l2 })
    const other = setup({}, { l2 })
    await cache.set('k', 'old')
    await cache.set('gone', 'old')
    l2.refuse.add('set').add('delete').add('clear')
    await cache.set('k', 'new')
    expect(await l2.get('app::k')).toBeDefined() // still there: the replica refused the DEL
    expect(await cache.get('k')).toBeUndefined()
    expect(await cache.has('k')).toBe(false)
    expect(await cache.getMany(['k'])).toEqual([undefined])

    // A refused delete: the key is gone for this process, though L2 keeps it.
    expect(await cache.delete('gone')).toBe(false)
    expect(await l2.get('app::gone')).toBeDefined()
    expect(await cache.get('gone')).toBeUndefined()

    // A newer entry, written by anyone after the refusal, is served.
    l2.refuse.clear()
    await other.cache.set('k', 'newer')
    expect(await cache.get('k')).toBe('newer')
    // So is one of this process' own later writes, and a later delete succeeds.
    await cache.set('gone', 'back')
    expect(await cache.get('gone')).toBe('back')
  })

  it('a refused clear hides what it meant to remove', async () => {
    const { cache, l2, opens } = setup()
    await cache.set('a', 1)
    const ns = cache.namespace('tenant')
    await ns.set('b', 2)
    l2.refuse.add('clear')
    await ns.clear()
    expect(await ns.get('b')).toBeUndefined()
    expect(await cache.get('a')).toBe(1)
    expect(l2.keys().length).toBe(2)
    expect(opens).toEqual([])
    l2.refuse.clear()
    await ns.set('b', 3)
    expect(await ns.get('b')).toBe(3)
  })

  it('a refused read is a miss, not an outage', async () => {
    const { cache, l2, errors, opens } = setup()
    await cache.set('k', 'v')
    l2.refuse.add('get')
    const fresh = setup({}, { l2 })
    expect(await fresh.cache.get('k')).toBeUndefined()
    expect(await fresh.cache.getOrSet('k', () => 'built')).toBe('built')
    expect(fresh.errors.map(({ error }) => error.code)).toEqual(['E_STORE_REFUSED', 'E_STORE_REFUSED'])
    expect(fresh.opens).toEqual([])
    expect(fresh.cache.stats().usingFallback).toBe(false)
    expect(errors).toEqual([])
    expect(opens).toEqual([])
  })

  it('a failure still opens the breaker', async () => {
    const { cache, l2, opens } = setup()
    l2.failing = true
    await cache.get('k')
    expect(opens).toHaveLength(1)
    expect(cache.stats().usingFallback).toBe(true)
  })

  it('with throwErrors, a refused set throws E_STORE_REFUSED after dropping its copies', async () => {
    const { cache, l1, l2 } = setup({ throwErrors: true })
    await cache.set('k', 'old')
    l2.refuse.add('set')
    await expect(cache.set('k', 'new')).rejects.toMatchObject({ code: 'E_STORE_REFUSED' })
    expect(l1.getSync!('app::k')).toBeUndefined()
    expect(await l2.get('app::k')).toBeUndefined()
  })
})

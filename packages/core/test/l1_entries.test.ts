import { describe, expect, it } from 'vitest'
import { type CacheEntry, createCache, type L1Entry } from '../src/index.js'
import { jsonTestCodec } from './support/json_codec.js'
import { MapStore } from './support/map_store.js'
import { MapTagIndex } from './support/map_tag_index.js'
import { controlDate } from './support/test_clock.js'

function twoTiers(options: { l1MaxTtl?: number } = {}) {
  const l1 = new MapStore<CacheEntry>()
  const l2 = new MapStore<Uint8Array>({ kind: 'remote' })
  const tagIndex = new MapTagIndex()
  const cache = createCache({ prefix: 'app', l1, l2, codec: jsonTestCodec(), tagIndex, ...options })
  return { cache, l1, l2, tagIndex }
}

describe('l1Entries and restoreL1', () => {
  it('list the fresh L1 entries of a view and its nested namespaces, with their store keys', async () => {
    const clock = controlDate()
    const { cache } = twoTiers()
    await cache.set('a', 1)
    await cache.namespace('t:1').set('a', 2)
    await cache.set('gone', 3, { ttl: 1 })
    clock.advance(5)
    const listed = cache.l1Entries()
    expect(listed.map((item) => [item.storeKey, item.entry.value]).sort()).toEqual([
      ['app::a', 1],
      ['app:t%3A1::a', 2],
    ])
    expect(
      cache
        .namespace('t:1')
        .l1Entries()
        .map((item) => item.storeKey),
    ).toEqual(['app:t%3A1::a'])
    await cache.close()
  })

  it('restore into L1 alone, keeping each entry times, and skip keys L1 already holds', async () => {
    const clock = controlDate()
    const source = twoTiers()
    await source.cache.set('a', 'old', { ttl: 10_000 })
    await source.cache.set('b', 'kept', { ttl: 10_000 })
    const listed = source.cache.l1Entries()
    clock.advance(4_000)

    const target = twoTiers()
    await target.cache.set('a', 'newer')
    const setsBefore = target.cache.stats().sets
    expect(await target.cache.restoreL1(listed)).toBe(1)
    expect(target.cache.stats().sets).toBe(setsBefore)
    expect(target.l2.keys()).toEqual(['app::a'])
    expect(await target.cache.get('a')).toBe('newer')
    expect(await target.cache.get('b')).toBe('kept')
    expect(target.cache.stats().tiers.l1.hits).toBe(2)
    const restored = target.cache.l1Entries().find((item) => item.storeKey === 'app::b')!
    expect(restored.entry).toEqual(listed.find((item) => item.storeKey === 'app::b')!.entry)

    clock.advance(6_000)
    expect(await target.cache.get('b')).toBeUndefined()
    await source.cache.close()
    await target.cache.close()
  })

  it('leave out entries no longer fresh, and honour tag invalidations made since they were created', async () => {
    const clock = controlDate()
    const { cache, tagIndex } = twoTiers()
    await cache.set('short', 1, { ttl: 1_000 })
    await cache.set('tagged', 2, { tags: ['t'] })
    const listed = cache.l1Entries()
    clock.advance(2_000)

    const other = createCache({
      prefix: 'app',
      l1: new MapStore<CacheEntry>(),
      l2: new MapStore<Uint8Array>({ kind: 'remote' }),
      codec: jsonTestCodec(),
      tagIndex,
    })
    await other.invalidateTags(['t'])
    expect(await other.restoreL1(listed)).toBe(1)
    expect(await other.get('tagged')).toBeUndefined()
    await cache.close()
    await other.close()
  })

  it('stay in L1 no longer than l1MaxTtl', async () => {
    const clock = controlDate()
    const source = twoTiers()
    await source.cache.set('a', 1, { ttl: '1h' })
    const target = twoTiers({ l1MaxTtl: 1_000 })
    await target.cache.restoreL1(source.cache.l1Entries())
    expect(target.l1.keys()).toEqual(['app::a'])
    clock.advance(1_001)
    expect(await target.l1.get('app::a')).toBeUndefined()
    await source.cache.close()
    await target.cache.close()
  })

  it('refuse, before writing anything, an item outside the view or not an entry', async () => {
    const { cache, l1 } = twoTiers()
    const entry: CacheEntry = {
      value: 1,
      createdAt: Date.now(),
      expiresAt: Infinity,
      hardExpiresAt: Infinity,
      tags: [],
    }
    const good: L1Entry = { storeKey: 'app::a', entry }
    await expect(
      cache.namespace('n').restoreL1([{ storeKey: 'app:n::a', entry }, good]),
    ).rejects.toMatchObject({
      code: 'E_INVALID_OPTION',
    })
    await expect(
      cache.restoreL1([good, { storeKey: 'app::b', entry: { value: 1 } as unknown as CacheEntry }]),
    ).rejects.toMatchObject({ code: 'E_INVALID_OPTION' })
    await expect(cache.restoreL1('nope' as unknown as L1Entry[])).rejects.toMatchObject({
      code: 'E_INVALID_OPTION',
    })
    expect(l1.keys()).toEqual([])
    await cache.close()
  })

  it('are empty without an L1 store that lists its entries', async () => {
    const l1 = new MapStore<CacheEntry>()
    ;(l1 as { entries?: unknown }).entries = undefined
    const cache = createCache({ l1 })
    await cache.set('a', 1)
    expect(cache.l1Entries()).toEqual([])
    await cache.close()
  })
})

describe('the close event', () => {
  it('fires once, before the cache closes its parts', async () => {
    const { cache, l1 } = twoTiers()
    const seen: boolean[] = []
    cache.on('close', () => seen.push(l1.getSync!('app::a') !== undefined))
    await cache.set('a', 1)
    await Promise.all([cache.close(), cache.close()])
    expect(seen).toEqual([true])
  })
})

import { describe, expect, it } from 'vitest'
import { memoryStore } from '../src/index.js'
import { bytes, collect, sleep } from './support/helpers.js'

describe('stats', () => {
  it('starts at zero and reports its bounds', () => {
    expect(memoryStore({ maxEntries: 5, maxBytes: 500 }).stats()).toEqual({
      entries: 0,
      bytes: 0,
      maxEntries: 5,
      maxBytes: 500,
      hits: 0,
      misses: 0,
      evictions: 0,
      evictedByEntries: 0,
      evictedByBytes: 0,
      expirations: 0,
    })
    expect(memoryStore().stats()).toMatchObject({ maxEntries: 10_000, maxBytes: undefined })
  })

  it('counts hits, misses, evictions and expirations exactly', async () => {
    const expired: string[] = []
    const evicted: string[] = []
    const store = memoryStore({
      maxEntries: 3,
      onExpire: (key) => expired.push(key),
      onEvict: (key) => evicted.push(key),
    })
    await store.set('a', bytes(1))
    await store.set('b', bytes(2))
    await store.set('t', bytes(4), 40)

    store.getSync('a') // hit
    await store.get('missing') // miss
    await store.getMany(['a', 'b', 'nope', 'a']) // 3 hits, 1 miss
    expect(store.stats()).toMatchObject({ hits: 4, misses: 2, entries: 3, bytes: 7 })

    await sleep(80)
    expect(await store.get('t')).toBeUndefined() // a miss, and an expiration
    expect(store.stats()).toMatchObject({ hits: 4, misses: 3, expirations: 1, entries: 2, bytes: 3 })

    await store.set('c', bytes(8))
    // Least recently used first: b (read once by getMany), a (read last by getMany), c.
    await store.set('d', bytes(16))
    expect(evicted).toEqual(['b'])
    expect(store.stats()).toMatchObject({ entries: 3, bytes: 25, evictions: 1, evictedByEntries: 1 })

    // Neither scans nor deletes nor clears count as reads.
    await collect(store.scan('*'))
    expect(await store.delete(['a', 'zz'])).toBe(1)
    expect(await store.clear()).toBe(2)
    expect(store.stats()).toEqual({
      entries: 0,
      bytes: 0,
      maxEntries: 3,
      maxBytes: undefined,
      hits: 4,
      misses: 3,
      evictions: 1,
      evictedByEntries: 1,
      evictedByBytes: 0,
      expirations: 1,
    })
    expect(expired).toEqual(['t'])
  })

  it('still answers after close', async () => {
    const store = memoryStore()
    await store.set('a', bytes(1))
    store.getSync('a')
    await store.close()
    expect(store.stats()).toMatchObject({ hits: 1, entries: 0 })
  })
})

import { describe, expect, it } from 'vitest'
import { type EvictionCause, memoryStore } from '../src/index.js'
import { bytes, collect } from './support/helpers.js'

const keysOf = async (store: { scan(pattern: string): AsyncIterable<string> }) =>
  (await collect(store.scan('*'))).sort()

describe('LRU by entries', () => {
  it('evicts the least recently used entry, and a recently read one survives', async () => {
    const store = memoryStore({ maxEntries: 3 })
    await store.setMany(['a', 'b', 'c'].map((key) => ({ key, value: bytes(1) })))
    expect(store.getSync('a')).toBeDefined()
    await store.set('d', bytes(1))
    expect(await keysOf(store)).toEqual(['a', 'c', 'd'])
    await store.get('c')
    await store.set('e', bytes(1))
    expect(await keysOf(store)).toEqual(['c', 'd', 'e'].sort())
    expect(store.stats()).toMatchObject({ entries: 3, evictions: 2, evictedByEntries: 2, evictedByBytes: 0 })
  })

  it('counts a getMany read as a use', async () => {
    const store = memoryStore({ maxEntries: 2 })
    await store.set('a', bytes(1))
    await store.set('b', bytes(1))
    await store.getMany(['a'])
    await store.set('c', bytes(1))
    expect(await keysOf(store)).toEqual(['a', 'c'])
  })

  it('counts an overwrite as a use and does not evict for it', async () => {
    const store = memoryStore({ maxEntries: 2 })
    await store.set('a', bytes(1))
    await store.set('b', bytes(1))
    await store.set('a', bytes(2))
    expect(store.stats().evictions).toBe(0)
    await store.set('c', bytes(1))
    expect(await keysOf(store)).toEqual(['a', 'c'])
  })

  it('does not count a scan as a use', async () => {
    const store = memoryStore({ maxEntries: 2 })
    await store.set('a', bytes(1))
    await store.set('b', bytes(1))
    expect(await collect(store.scan('a'))).toEqual(['a'])
    expect(await collect(store.scan('a*'))).toEqual(['a'])
    await store.set('c', bytes(1))
    expect(await keysOf(store)).toEqual(['b', 'c'])
  })
})

describe('LRU by bytes', () => {
  it('evicts least recently used entries until the new one fits', async () => {
    const store = memoryStore({ maxEntries: 100, maxBytes: 100 })
    await store.set('a', bytes(40))
    await store.set('b', bytes(40))
    store.getSync('a')
    await store.set('c', bytes(40))
    expect(await keysOf(store)).toEqual(['a', 'c'])
    expect(store.stats()).toMatchObject({ bytes: 80, entries: 2, evictedByBytes: 1, evictedByEntries: 0 })

    await store.set('whole', bytes(100))
    expect(await keysOf(store)).toEqual(['whole'])
    expect(store.stats()).toMatchObject({ bytes: 100, entries: 1, evictedByBytes: 3 })
  })

  it('re-counts the bytes of an overwritten key', async () => {
    const store = memoryStore({ maxEntries: 100, maxBytes: 100 })
    await store.set('a', bytes(30))
    await store.set('b', bytes(30))
    await store.set('a', bytes(60))
    expect(store.stats()).toMatchObject({ bytes: 90, entries: 2, evictions: 0 })
    await store.set('b', bytes(50))
    // 'a' (60) is the least recently used and must go for 'b' to grow from 30 to 50.
    expect(await keysOf(store)).toEqual(['b'])
    expect(store.stats()).toMatchObject({ bytes: 50, evictedByBytes: 1 })
  })

  it('tells evictions by entries from evictions by bytes, also to onEvict', async () => {
    const evicted: Array<[string, EvictionCause]> = []
    const store = memoryStore({
      maxEntries: 2,
      maxBytes: 100,
      onEvict: (key, _value, cause) => evicted.push([key, cause]),
    })
    await store.set('a', bytes(10))
    await store.set('b', bytes(10))
    await store.set('c', bytes(10)) // full by count: a goes
    await store.set('d', bytes(90)) // full by count: b goes; then c (10) + d (90) fit
    await store.set('e', bytes(95)) // full by count: c goes; then d goes for bytes
    expect(evicted).toEqual([
      ['a', 'entries'],
      ['b', 'entries'],
      ['c', 'entries'],
      ['d', 'bytes'],
    ])
    expect(store.stats()).toMatchObject({ evictions: 4, evictedByEntries: 3, evictedByBytes: 1, bytes: 95 })
  })

  it('counts bytes with a custom sizeOf', async () => {
    const store = memoryStore<string>({ maxEntries: 10, maxBytes: 10, sizeOf: (value) => value.length })
    await store.set('a', 'xxxx')
    await store.set('b', 'xxxx')
    await store.set('c', 'xxxx')
    expect(await keysOf(store)).toEqual(['b', 'c'])
    expect(store.stats().bytes).toBe(8)
  })
})

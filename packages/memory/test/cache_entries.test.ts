import { type CacheEntry, createEntry, storeTtlMs } from '@cachekit/core'
import { describe, expect, it } from 'vitest'
import { defaultSizeOf, memoryStore } from '../src/index.js'

describe('holding CacheEntry objects (L1 and fallback)', () => {
  it('returns the very object it was given: an L1 hit costs no decode and no copy', async () => {
    const store = memoryStore<CacheEntry>()
    const entry = createEntry({ id: 1, name: 'Ada' }, { ttlMs: 60_000, tags: ['user:1'] })
    await store.set('shop:user:1', entry, storeTtlMs(entry))
    expect(store.getSync('shop:user:1')).toBe(entry)
    expect(await store.get('shop:user:1')).toBe(entry)
    expect(await store.getMany(['shop:user:1'])).toEqual([entry])
  })

  it('counts a 10 KB string value as at least 10 KB when bytes are bounded', async () => {
    const store = memoryStore<CacheEntry>({ maxBytes: 1024 * 1024 })
    const entry = createEntry('x'.repeat(10 * 1024))
    await store.set('big', entry)
    expect(store.stats().bytes).toBeGreaterThanOrEqual(10 * 1024)
    expect(defaultSizeOf(entry)).toBeGreaterThanOrEqual(2 * 10 * 1024)
  })

  it('does not walk object values when nothing is bounded by bytes', async () => {
    const store = memoryStore<CacheEntry>()
    await store.set('big', createEntry('x'.repeat(10 * 1024)))
    await store.set('bytes', createEntry(new Uint8Array(10)) as CacheEntry)
    expect(store.stats().bytes).toBe(2)
  })

  it('bounds a fallback store of entries by bytes', async () => {
    const store = memoryStore<CacheEntry>({ maxEntries: 1_000, maxBytes: 100 * 1024 })
    for (let i = 0; i < 20; i++) await store.set(`k:${i}`, createEntry('y'.repeat(5 * 1024)))
    const { bytes, entries, evictedByBytes } = store.stats()
    expect(bytes).toBeLessThanOrEqual(100 * 1024)
    // Each entry holds 10 KiB of string (2 bytes a character) plus its envelope: at most 9 fit.
    expect(entries).toBeLessThanOrEqual(9)
    expect(entries).toBeGreaterThanOrEqual(8)
    expect(evictedByBytes).toBe(20 - entries)
    expect(store.getSync('k:19')).toBeDefined()
  })
})

describe('defaultSizeOf', () => {
  it('measures bytes and strings exactly', () => {
    expect(defaultSizeOf(new Uint8Array(1234))).toBe(1234)
    expect(defaultSizeOf(Buffer.alloc(77))).toBe(77)
    expect(defaultSizeOf(new Uint8Array(new ArrayBuffer(100), 10, 20))).toBe(20)
    expect(defaultSizeOf('abc')).toBe(6)
    expect(defaultSizeOf('')).toBe(0)
  })

  it('gives sensible sizes to other values', () => {
    expect(defaultSizeOf(42)).toBeGreaterThan(0)
    expect(defaultSizeOf(null)).toBe(0)
    const row = { id: 1, name: 'Ada Lovelace', email: 'ada@example.com' }
    const small = defaultSizeOf(row)
    expect(small).toBeGreaterThan(2 * 'Ada Lovelace'.length)
    expect(small).toBeLessThan(1024)
    // Nested containers grow the estimate with what they hold.
    expect(defaultSizeOf({ rows: [row, row] })).toBeGreaterThan(2 * small)
    expect(defaultSizeOf(new Map([['k', 'v'.repeat(1000)]]))).toBeGreaterThanOrEqual(2000)
    expect(defaultSizeOf(new Set(['v'.repeat(1000)]))).toBeGreaterThanOrEqual(2000)
    expect(defaultSizeOf({ buffer: new Uint8Array(5000) })).toBeGreaterThanOrEqual(5000)
  })

  it('extrapolates large arrays from a sample, within a factor of the truth', () => {
    const rows = Array.from({ length: 100_000 }, (_, i) => ({ id: i, label: `label-${i % 10}` }))
    const estimate = defaultSizeOf(rows)
    const oneRow = defaultSizeOf(rows[0])
    expect(estimate).toBeGreaterThan(50_000 * oneRow)
    expect(estimate).toBeLessThan(200_000 * oneRow)
  })

  it('visits a bounded number of objects, whatever the size or shape of the value', () => {
    const touched = new Set<object>()
    const watched = <T extends object>(target: T): T =>
      new Proxy(target, {
        get: (object, property, receiver) => {
          touched.add(object)
          return Reflect.get(object, property, receiver)
        },
        ownKeys: (object) => {
          touched.add(object)
          return Reflect.ownKeys(object)
        },
      })
    const huge = watched(
      Array.from({ length: 300 }, () =>
        watched(Array.from({ length: 300 }, () => watched({ a: 1, b: 'x' }))),
      ),
    )
    expect(defaultSizeOf(huge)).toBeGreaterThan(90_000 * 2)
    expect(touched.size).toBeLessThanOrEqual(256)

    touched.clear()
    const cyclic = watched<{ self?: object; payload: string }>({ payload: 'p' })
    cyclic.self = cyclic
    expect(defaultSizeOf(cyclic)).toBeGreaterThan(0)
    expect(touched.size).toBe(1)
  })
})

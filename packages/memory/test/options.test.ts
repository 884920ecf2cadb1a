import { InvalidOptionError } from '@cachekit/core'
import { describe, expect, it } from 'vitest'
import { type MemoryStoreOptions, memoryStore } from '../src/index.js'
import { bytes } from './support/helpers.js'

describe('options', () => {
  it('has sane defaults', () => {
    const store = memoryStore()
    expect(store.name).toBe('memory')
    expect(store.kind).toBe('local')
    expect(store.stats()).toMatchObject({ maxEntries: 10_000, maxBytes: undefined })
  })

  it.each<[string, MemoryStoreOptions]>([
    ['maxEntries 0', { maxEntries: 0 }],
    ['maxEntries fractional', { maxEntries: 1.5 }],
    ['maxEntries infinite', { maxEntries: Number.POSITIVE_INFINITY }],
    ['maxBytes negative', { maxBytes: -1 }],
    ['maxBytes NaN', { maxBytes: Number.NaN }],
    ['maxValueBytes 0', { maxValueBytes: 0 }],
    ['empty name', { name: '' }],
    ['sizeOf not a function', { sizeOf: 5 as unknown as () => number }],
    ['onEvict not a function', { onEvict: 'x' as unknown as () => void }],
  ])('rejects %s with InvalidOptionError', (_label, options) => {
    expect(() => memoryStore(options)).toThrow(InvalidOptionError)
  })

  it('rejects a write whose sizeOf result is not a size, and keeps nothing', async () => {
    for (const size of [Number.NaN, -1, Number.POSITIVE_INFINITY]) {
      const store = memoryStore({ sizeOf: () => size })
      await expect(store.set('k', bytes(1))).rejects.toBeInstanceOf(InvalidOptionError)
      expect(store.getSync('k')).toBeUndefined()
    }
  })

  it('passes value and key to sizeOf, and counts an empty value as 1 byte', async () => {
    const seen: Array<[string, string]> = []
    const store = memoryStore<string>({
      sizeOf: (value, key) => {
        seen.push([value, key])
        return value.length
      },
    })
    await store.set('k', 'abc')
    await store.set('empty', '')
    expect(seen).toEqual([
      ['abc', 'k'],
      ['', 'empty'],
    ])
    expect(store.stats().bytes).toBe(4)
  })

  it('uses the name in errors', async () => {
    const store = memoryStore({ name: 'fallback', maxValueBytes: 1 })
    await expect(store.set('k', bytes(2))).rejects.toThrow('"fallback"')
  })
})

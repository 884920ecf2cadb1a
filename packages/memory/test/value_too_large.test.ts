import { CacheError, ValueTooLargeError } from '@cachekit/core'
import { describe, expect, it } from 'vitest'
import { memoryStore } from '../src/index.js'
import { bytes, rejection } from './support/helpers.js'

describe('maxValueBytes', () => {
  it('refuses a value above it with a typed error naming size and limit', async () => {
    const store = memoryStore({ maxValueBytes: 1024 })
    const error = await rejection(store.set('big', bytes(1025)))
    expect(error).toBeInstanceOf(ValueTooLargeError)
    expect(CacheError.hasCode(error, 'E_VALUE_TOO_LARGE')).toBe(true)
    expect(error).toMatchObject({ size: 1025, limit: 1024, key: 'big' })
    expect((error as Error).message).toContain('1025')
    expect((error as Error).message).toContain('1024')
    expect(await store.get('big')).toBeUndefined()
    expect(store.stats()).toMatchObject({ entries: 0, bytes: 0 })
  })

  it('accepts a value exactly at the limit', async () => {
    const store = memoryStore({ maxValueBytes: 1024 })
    await store.set('edge', bytes(1024))
    expect((await store.get('edge'))?.byteLength).toBe(1024)
  })

  it('deletes the older value of a refused key, so it is not served as if the write happened', async () => {
    const store = memoryStore({ maxValueBytes: 10 })
    await store.set('k', bytes(5, 1))
    await rejection(store.set('k', bytes(11, 2)))
    expect(await store.get('k')).toBeUndefined()
  })

  it('defaults to maxBytes, and is never above it', async () => {
    const byBound = memoryStore({ maxBytes: 100 })
    await byBound.set('small', bytes(10))
    expect(await rejection(byBound.set('big', bytes(101)))).toMatchObject({ size: 101, limit: 100 })
    // The refusal evicted nothing to make room for a value that could never fit.
    expect(await byBound.get('small')).toBeDefined()

    const clamped = memoryStore({ maxBytes: 100, maxValueBytes: 1000 })
    expect(await rejection(clamped.set('big', bytes(101)))).toMatchObject({ limit: 100 })
  })

  it('writes the other values of a setMany and rejects for the refused one', async () => {
    const store = memoryStore({ maxValueBytes: 10 })
    const error = await rejection(
      store.setMany([
        { key: 'a', value: bytes(1) },
        { key: 'big', value: bytes(11) },
        { key: 'b', value: bytes(2) },
      ]),
    )
    expect(error).toMatchObject({ code: 'E_VALUE_TOO_LARGE', key: 'big' })
    expect(await store.getMany(['a', 'big', 'b'])).toEqual([bytes(1), undefined, bytes(2)])
  })

  it('measures values with sizeOf', async () => {
    const store = memoryStore<string>({ maxValueBytes: 3, sizeOf: (value) => value.length })
    await store.set('ok', 'abc')
    expect(await rejection(store.set('long', 'abcd'))).toMatchObject({ size: 4, limit: 3 })
  })
})

import { CacheError, StoreClosedError } from '@cachekit/core'
import { describe, expect, it } from 'vitest'
import { memoryStore } from '../src/index.js'
import { bytes, collect, rejection } from './support/helpers.js'

describe('close', () => {
  it('makes every method reject, and getSync throw, with StoreClosedError', async () => {
    const store = memoryStore({ name: 'l1' })
    await store.set('k', bytes(1))
    await store.close()
    const calls: Array<[string, () => Promise<unknown>]> = [
      ['get', () => store.get('k')],
      ['getMany', () => store.getMany(['k'])],
      ['set', () => store.set('k', bytes(1))],
      ['setMany', () => store.setMany([{ key: 'k', value: bytes(1) }])],
      ['delete', () => store.delete(['k'])],
      ['clear', () => store.clear()],
      ['clear(prefix)', () => store.clear('k')],
      ['scan', () => collect(store.scan('*'))],
      ['prune', () => store.prune()],
    ]
    for (const [name, call] of calls) {
      const error = await rejection(call())
      expect(error, name).toBeInstanceOf(StoreClosedError)
      expect(CacheError.hasCode(error, 'E_STORE_CLOSED'), name).toBe(true)
      expect((error as Error).message, name).toContain('"l1"')
    }
    expect(() => store.getSync('k')).toThrow(StoreClosedError)
  })

  it('stops a scan that is under way', async () => {
    const store = memoryStore()
    await store.setMany(['a', 'b', 'c'].map((key) => ({ key, value: bytes(1) })))
    const iterator = store.scan('*')[Symbol.asyncIterator]()
    await iterator.next()
    await store.close()
    expect(await rejection(iterator.next())).toBeInstanceOf(StoreClosedError)
  })

  it('is idempotent, releases entries and supports await using', async () => {
    const store = memoryStore()
    await store.set('k', bytes(1))
    await store.close()
    await store.close()
    expect(store.stats().entries).toBe(0)
    {
      await using scoped = memoryStore()
      await scoped.set('k', bytes(1))
    }
  })
})

import { describe, expect, it, vi } from 'vitest'
import {
  type CacheEntry,
  CacheError,
  createCache,
  InvalidDurationError,
  InvalidOptionError,
  type Store,
} from '../src/index.js'
import { jsonTestCodec } from './support/json_codec.js'
import { LocalBusHub } from './support/local_bus.js'
import { MapStore } from './support/map_store.js'
import { MapTagIndex } from './support/map_tag_index.js'

function parts() {
  const l1 = new MapStore<CacheEntry>({ name: 'l1' })
  const l2 = new MapStore<Uint8Array>({ name: 'l2', kind: 'remote' })
  const fallback = new MapStore<CacheEntry>({ name: 'fallback' })
  const tagIndex = new MapTagIndex()
  const bus = new LocalBusHub().createBus()
  return { l1, l2, fallback, tagIndex, bus }
}

describe('close()', () => {
  it('closes every part it was given: l1, l2, fallback, tag index and bus', async () => {
    const given = parts()
    const closes = Object.fromEntries(
      Object.entries(given).map(([name, part]) => [name, vi.spyOn(part, 'close')]),
    )
    const cache = createCache({ prefix: 'app', codec: jsonTestCodec(), ...given })
    await cache.set('k', 1)
    await cache.close()
    for (const [name, close] of Object.entries(closes)) expect(close, name).toHaveBeenCalledOnce()
    await expect(given.l2.get('app::k')).rejects.toMatchObject({ code: 'E_STORE_CLOSED' })
    await cache.close() // a second close is a no-op
    for (const close of Object.values(closes)) expect(close).toHaveBeenCalledOnce()
  })

  it('closes a fallback given without L2, and the other parts even when one fails to close', async () => {
    const l1 = new MapStore<CacheEntry>({ name: 'l1' })
    const fallback = new MapStore<CacheEntry>({ name: 'fallback' })
    const failing: Store<CacheEntry> = Object.assign(new MapStore<CacheEntry>({ name: 'bad' }), {
      close: () => Promise.reject(new Error('cannot close')),
    })
    const cache = createCache({ l1: failing, fallback })
    await expect(cache.close()).rejects.toThrow('cannot close')
    await expect(fallback.get('x')).rejects.toMatchObject({ code: 'E_STORE_CLOSED' })
    await createCache({ l1, fallback: new MapStore<CacheEntry>() }).close()
    await expect(l1.get('x')).rejects.toMatchObject({ code: 'E_STORE_CLOSED' })
  })
})

describe('invalid options throw where they are given', () => {
  const l1 = () => new MapStore<CacheEntry>({ name: 'l1' })

  it('at createCache', () => {
    // @ts-expect-error: not a duration
    expect(() => createCache({ l1: l1(), ttl: '5 minutes please' })).toThrow(InvalidDurationError)
    expect(() => createCache({ l1: l1(), ttl: -5 })).toThrow(InvalidDurationError)
    expect(() => createCache({ l1: l1(), grace: Number.NaN })).toThrow(InvalidDurationError)
    // @ts-expect-error: not a lock
    expect(() => createCache({ l1: l1(), lock: 'global' })).toThrow(InvalidOptionError)
    // @ts-expect-error: not a prefix
    expect(() => createCache({ l1: l1(), prefix: 42 })).toThrow(InvalidOptionError)
    expect(() => createCache({ l1: l1(), maxOutageKeys: -1 })).toThrow(InvalidOptionError)
    // @ts-expect-error: no options
    expect(() => createCache(undefined)).toThrow(InvalidOptionError)
    expect(() => createCache({ l1: l1(), ttl: Number.POSITIVE_INFINITY })).not.toThrow()
    expect(() => createCache({ l1: l1(), ttl: () => '5m' })).not.toThrow()
  })

  it('at getOrSet, before the factory runs, and at profile()', async () => {
    const cache = createCache({ l1: l1() })
    const factory = vi.fn(() => 'v')
    const expectCode = async (call: Promise<unknown>, code: string) => {
      const error = await call.catch((thrown: unknown) => thrown)
      expect(CacheError.hasCode(error, code as CacheError['code']), String(error)).toBe(true)
    }
    await expectCode(cache.getOrSet('k', factory, { ttl: -5 }), 'E_INVALID_DURATION')
    // @ts-expect-error: not a duration
    await expectCode(cache.getOrSet('k', factory, { ttl: 'soon' }), 'E_INVALID_DURATION')
    await expectCode(cache.getOrSet('k', factory, { grace: -1 }), 'E_INVALID_DURATION')
    // @ts-expect-error: not a lock
    await expectCode(cache.getOrSet('k', factory, { lock: 'global' }), 'E_INVALID_OPTION')
    // @ts-expect-error: not a tag list
    await expectCode(cache.getOrSet('k', factory, { tags: 'products' }), 'E_INVALID_OPTION')
    await expectCode(cache.getOrSet('k', factory, { tags: [''] }), 'E_INVALID_OPTION')
    expect(factory).not.toHaveBeenCalled()
    expect(() => cache.profile('p', { ttl: -1 })).toThrow(InvalidDurationError)
    await expectCode(cache.set('k', 1, { ttl: -5 }), 'E_INVALID_DURATION')
    const wrapped = cache.wrap(async (id: number) => id, { key: (id) => `w:${id}`, ttl: -1 })
    await expectCode(wrapped(1), 'E_INVALID_DURATION')
    expect(await cache.getOrSet('k', factory, { ttl: '1m' })).toBe('v')
    await cache.close()
  })
})

describe('close() during a background sweep', () => {
  it('ends the sweep pause at once instead of waiting on its timer', async () => {
    const l1 = new MapStore<CacheEntry>({ name: 'l1' })
    const cache = createCache({
      l1,
      tagIndex: new MapTagIndex(),
      tagCleanup: { batchSize: 1, pause: '1h' },
    })
    await cache.setMany(['a', 'b', 'c'].map((key) => ({ key, value: key, tags: ['t'] })))
    const swept = new Promise<void>((resolve) => cache.on('tags:cleanup', () => resolve()))
    await cache.invalidateTags(['t']) // starts a sweep that pauses an hour between batches
    // The first batch is gone: the sweep is in its pause now.
    for (let turn = 0; turn < 10_000 && l1.keys().length === 3; turn++)
      await new Promise((resolve) => setImmediate(resolve))
    expect(l1.keys().length).toBeLessThan(3)
    // Without the fix this waits out the hour (the test times out); the pause timer is unref'd, so
    // a process awaiting close() would exit with close() unsettled.
    await cache.close()
    await swept
    expect(cache.stats().errors).toBe(0)
  })
})

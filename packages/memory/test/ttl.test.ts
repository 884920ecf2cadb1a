import { describe, expect, it } from 'vitest'
import { memoryStore } from '../src/index.js'
import { bytes, collect, sleep } from './support/helpers.js'

const BRIEF = 40
const LONG = 60_000
/** Long enough past BRIEF for any clock; the store itself has no timer to wait for. */
const PAST_BRIEF = 80

/** Blocks the thread, so no timer (and no timer-refreshed clock) can run meanwhile. */
function busyWait(ms: number): void {
  const end = performance.now() + ms
  while (performance.now() < end) {
    // spin
  }
}

describe('TTL', () => {
  it('never returns an expired entry from get, getMany, getSync or scan', async () => {
    const store = memoryStore()
    await store.setMany([
      { key: 'brief:1', value: bytes(1), ttlMs: BRIEF },
      { key: 'brief:2', value: bytes(1), ttlMs: BRIEF },
      { key: 'brief:3', value: bytes(1), ttlMs: BRIEF },
      { key: 'brief:4', value: bytes(1), ttlMs: BRIEF },
      { key: 'long', value: bytes(2), ttlMs: LONG },
      { key: 'forever', value: bytes(3) },
    ])
    await sleep(PAST_BRIEF)
    expect(await collect(store.scan('brief:*'))).toEqual([])
    expect(await collect(store.scan('brief:4'))).toEqual([])
    expect(store.getSync('brief:1')).toBeUndefined()
    expect(await store.get('brief:2')).toBeUndefined()
    expect(await store.getMany(['brief:3', 'long', 'forever'])).toEqual([undefined, bytes(2), bytes(3)])
    expect((await collect(store.scan('*'))).sort()).toEqual(['forever', 'long'])
  })

  it('expires on time even while the event loop is blocked', async () => {
    const store = memoryStore()
    await store.set('k', bytes(1), BRIEF)
    store.getSync('k') // a clock cached behind a timer would be refreshed here and then frozen
    busyWait(PAST_BRIEF)
    expect(store.getSync('k')).toBeUndefined()
  })

  it('keeps an entry within its TTL', async () => {
    const store = memoryStore()
    await store.set('k', bytes(1), LONG)
    await sleep(PAST_BRIEF)
    expect(store.getSync('k')).toEqual(bytes(1))
  })

  it('replaces the TTL on overwrite, both ways', async () => {
    const store = memoryStore()
    await store.set('shortened', bytes(1))
    await store.set('shortened', bytes(2), BRIEF)
    await store.set('lengthened', bytes(1), BRIEF)
    await store.set('lengthened', bytes(2), LONG)
    await sleep(PAST_BRIEF)
    expect(await store.getMany(['shortened', 'lengthened'])).toEqual([undefined, bytes(2)])
  })

  it('does not count expired keys as deleted or cleared', async () => {
    const store = memoryStore()
    await store.setMany([
      { key: 'a:1', value: bytes(1), ttlMs: BRIEF },
      { key: 'a:2', value: bytes(1) },
      { key: 'b:1', value: bytes(1), ttlMs: BRIEF },
      { key: 'b:2', value: bytes(1) },
      { key: 'c:1', value: bytes(1), ttlMs: BRIEF },
    ])
    await sleep(PAST_BRIEF)
    expect(await store.delete(['a:1', 'a:2'])).toBe(1)
    expect(await store.clear('b:')).toBe(1)
    expect(await store.clear()).toBe(0)
    expect(store.stats()).toMatchObject({ entries: 0, bytes: 0, expirations: 3 })
  })

  it('prune drops expired entries at once and reports them', async () => {
    const expired: string[] = []
    const store = memoryStore({ onExpire: (key) => expired.push(key) })
    await store.setMany([
      { key: 'x', value: bytes(10), ttlMs: BRIEF },
      { key: 'y', value: bytes(10), ttlMs: BRIEF },
      { key: 'z', value: bytes(10) },
    ])
    expect(store.stats()).toMatchObject({ entries: 3, bytes: 30 })
    await sleep(PAST_BRIEF)
    // Held until met: the store runs no timer to drop them.
    expect(store.stats()).toMatchObject({ entries: 3, expirations: 0 })
    expect(await store.prune()).toBe(2)
    expect(expired.sort()).toEqual(['x', 'y'])
    expect(store.stats()).toMatchObject({ entries: 1, bytes: 10, expirations: 2 })
    expect(await store.prune()).toBe(0)
  })

  it('counts an expired entry met by eviction as an expiration, not an eviction', async () => {
    const store = memoryStore({ maxEntries: 2 })
    await store.set('old', bytes(1), BRIEF)
    await store.set('kept', bytes(1))
    await sleep(PAST_BRIEF)
    await store.set('new', bytes(1))
    expect(store.stats()).toMatchObject({ entries: 2, evictions: 0, expirations: 1 })
  })

  it('treats an infinite TTL as none and rejects TTLs Redis would refuse', async () => {
    const store = memoryStore()
    await store.set('forever', bytes(1), Number.POSITIVE_INFINITY)
    expect(store.getSync('forever')).toEqual(bytes(1))
    for (const ttl of [0, -5, Number.NaN]) {
      await expect(store.set('bad', bytes(1), ttl)).rejects.toMatchObject({ code: 'E_INVALID_OPTION' })
    }
    expect(store.getSync('bad')).toBeUndefined()
  })
})

import { afterEach, describe, expect, it } from 'vitest'
import {
  type Bus,
  type CacheEntry,
  type CacheEventMap,
  type CacheOptions,
  createCache,
  decodeEntry,
} from '../src/index.js'
import { jsonTestCodec } from './support/json_codec.js'
import { LocalBusHub } from './support/local_bus.js'
import { MapStore } from './support/map_store.js'
import { until } from './support/until.js'

const opened: Array<{ close(): Promise<void> }> = []
const releases: Array<() => void> = []
afterEach(async () => {
  for (const release of releases.splice(0)) release()
  await Promise.all(opened.splice(0).map((cache) => cache.close()))
})

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

function setup(overrides: Partial<CacheOptions> = {}, shared?: { l2: MapStore<Uint8Array> }) {
  const l1 = new MapStore<CacheEntry>({ name: 'l1' })
  const l2 = shared?.l2 ?? new MapStore<Uint8Array>({ name: 'l2', kind: 'remote' })
  const fallback = new MapStore<CacheEntry>({ name: 'fallback' })
  const cache = createCache({ prefix: 'app', l1, l2, fallback, codec: jsonTestCodec(), ...overrides })
  opened.push(cache)
  const errors: Array<CacheEventMap['error']> = []
  cache.on('error', (event) => errors.push(event))
  // A `set` event comes once a write is over in every tier (L2 answered or timed out), fills included.
  const finished: string[] = []
  cache.on('set', ({ key }) => finished.push(key))
  const writesOver = (storeKey: string) => finished.filter((key) => key === storeKey).length
  return { cache, l1, l2, fallback, errors, writesOver }
}

/** Holds every L2 call from now on, in order, until the test releases it (or the test ends). */
function hold(l2: MapStore<Uint8Array>): () => void {
  const release = l2.hold()
  releases.push(release)
  return release
}

const codec = jsonTestCodec()
const valueIn = async (l2: MapStore<Uint8Array>, key: string) => {
  const bytes = await l2.get(key)
  return bytes && decodeEntry(bytes, codec, key).value
}

describe('getOrSet does not wait on the L2 write', () => {
  it('returns the value with the write still in flight; L1 has it, L2 and the bus get it after', async () => {
    const hub = new LocalBusHub()
    const bus = hub.createBus()
    const { cache, l2 } = setup({ bus, l2Timeout: '10s' })
    await cache.ready()
    let release = () => {}
    const value = await cache.getOrSet('k', () => {
      release = hold(l2) // the read is done; from here L2 hangs
      return 'v'
    })
    expect(value).toBe('v')
    expect(await cache.get('k')).toBe('v') // from L1
    expect(l2.keys()).not.toContain('app::k') // not written yet
    expect(bus.published).toBe(0) // announced only once L2 has it
    release()
    expect(await until(async () => (await valueIn(l2, 'app::k')) === 'v')).toBe(true)
    expect(await until(() => bus.published === 1)).toBe(true)
    // Counted once the announcement settled, which may be a turn after it was sent.
    expect(await until(() => cache.stats().sets === 1)).toBe(true)
  })

  it('a later delete of the key wins over the write still in flight', async () => {
    const { cache, l2, writesOver } = setup({ l2Timeout: '10s' })
    let release = () => {}
    expect(
      await cache.getOrSet('k', () => {
        release = hold(l2)
        return 'v1'
      }),
    ).toBe('v1')
    const deleting = cache.delete('k')
    release()
    await deleting
    expect(await until(() => writesOver('app::k') === 1)).toBe(true) // the write in flight is over too
    expect(await valueIn(l2, 'app::k')).toBeUndefined()
    expect(await cache.get('k')).toBeUndefined()
  })

  it('a later set of the key wins over the write still in flight', async () => {
    const { cache, l2, writesOver } = setup({ l2Timeout: '10s' })
    let release = () => {}
    await cache.getOrSet('k', () => {
      release = hold(l2)
      return 'v1'
    })
    const setting = cache.set('k', 'v2')
    release()
    await setting
    expect(await until(() => writesOver('app::k') === 2)).toBe(true) // the write in flight is over too
    expect(await valueIn(l2, 'app::k')).toBe('v2')
    expect(await cache.get('k')).toBe('v2')
  })

  it('a write that times out does not put back into the fallback a key deleted meanwhile', async () => {
    const { cache, l2, fallback, writesOver } = setup({ l2Timeout: 100, breaker: { failureThreshold: 1 } })
    await cache.getOrSet('k', () => {
      hold(l2) // the write hangs and will time out
      return 'v1'
    })
    l2.failing = true
    await cache.get('other') // fails at once: the breaker opens
    expect(cache.stats().usingFallback).toBe(true)
    await cache.delete('k') // straight to the fallback
    // The hung write times out after this and must not resurrect `k` in the fallback.
    expect(await until(() => writesOver('app::k') === 1)).toBe(true)
    expect(await fallback.get('app::k')).toBeUndefined()
    expect(await cache.get('k')).toBeUndefined()
  })

  it('a failed background write is reported, never thrown, even with throwErrors', async () => {
    const { cache, l2, errors } = setup({ throwErrors: true, l2Timeout: 50 })
    let value: unknown
    await cache
      .getOrSet('k', () => {
        l2.failing = true // the read passed; the write fails
        return 'v'
      })
      .then((v) => {
        value = v
      })
    expect(value).toBe('v')
    expect(await until(() => errors.length === 1)).toBe(true)
    expect(errors[0]).toMatchObject({ operation: 'set', error: { code: 'E_STORE_FAILURE' } })
  })

  it('keeps the distributed lock until the value is in L2, so no other process rebuilds it', async () => {
    const l2 = new MapStore<Uint8Array>({ name: 'l2', kind: 'remote' })
    const a = setup({ lock: 'distributed', l2Timeout: '10s' }, { l2 })
    let release = () => {}
    await a.cache.getOrSet('k', () => {
      release = hold(l2)
      return 'v'
    })
    // The caller has its value, the write hangs: the lock stays taken (MapStore's lock ignores the hold).
    expect(await l2.lock.acquire('app:%lock:k', 1_000)).toBeUndefined()
    release()
    expect(await until(async () => (await l2.lock.acquire('app:%lock:k', 1_000)) !== undefined)).toBe(true)
    expect(await valueIn(l2, 'app::k')).toBe('v')
  })
})

describe('a hung remote costs one timeout', () => {
  it('set waits for the bus announcement within what is left of one l2Timeout', async () => {
    const L2_TIMEOUT = 100
    // A call that waited on the hung bus would never end; the bound only tells that apart, generously.
    const HANG = L2_TIMEOUT + 2_000
    const hub = new LocalBusHub()
    const hanging: Bus = Object.assign(hub.createBus(), {
      publish: () => new Promise<void>(() => undefined),
    })
    const { cache } = setup({ bus: hanging, l2Timeout: L2_TIMEOUT })
    await cache.ready()
    const outcome = await Promise.race([
      cache.set('k', 'v').then(() => 'resolved'),
      sleep(HANG).then(() => 'still waiting'),
    ])
    expect(outcome).toBe('resolved')
    expect(await cache.get('k')).toBe('v')
    const deleted = await Promise.race([
      cache.delete('k').then(() => 'resolved'),
      sleep(HANG).then(() => 'still waiting'),
    ])
    expect(deleted).toBe('resolved')
  })

  it('a timeout says why the store could not answer when the store knows', async () => {
    const l2 = new MapStore<Uint8Array>({ name: 'l2', kind: 'remote' })
    const cause = Object.assign(
      new Error('[test] cannot reach 127.0.0.1:1: connect ECONNREFUSED 127.0.0.1:1'),
      {
        code: 'ECONNREFUSED',
      },
    )
    const unreachable = Object.assign(Object.create(l2) as MapStore<Uint8Array>, {
      get: () => new Promise<undefined>(() => undefined),
      connectionError: () => cause,
    })
    const { cache, errors } = setup({ l2Timeout: 30 }, { l2: unreachable })
    expect(await cache.get('k')).toBeUndefined()
    const error = errors[0]!.error
    expect(error.code).toBe('E_STORE_FAILURE')
    expect(error.message).toMatch(/within 30 ms \(.*ECONNREFUSED 127\.0\.0\.1:1\)/)
    expect((error.cause as Error).cause).toBe(cause)
  })
})

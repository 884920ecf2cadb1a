import { afterEach, describe, expect, it } from 'vitest'
import {
  type CacheEntry,
  CacheError,
  type CacheEventMap,
  type CacheOptions,
  createCache,
  FactoryHardTimeoutError,
} from '../src/index.js'
import { jsonTestCodec } from './support/json_codec.js'
import { LocalBusHub } from './support/local_bus.js'
import { MapStore } from './support/map_store.js'
import { controlDate } from './support/test_clock.js'
import { until } from './support/until.js'

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))
/** Lets every callback already queued run (a macrotask after all pending microtasks). */
const settle = () => new Promise((resolve) => setImmediate(resolve))

/** A promise the test resolves when it chooses: a factory or a store call that takes "long". */
function gate<T = void>() {
  let open!: (value: T) => void
  const closed = new Promise<T>((resolve) => {
    open = resolve
  })
  return { closed, open }
}

const opened: Array<{ close(): Promise<void> }> = []
afterEach(async () => {
  await Promise.all(opened.splice(0).map((cache) => cache.close()))
})

function setup(overrides: Partial<CacheOptions> = {}, shared?: { l2: MapStore<Uint8Array> }) {
  const l1 = new MapStore<CacheEntry>({ name: 'l1' })
  const l2 = shared?.l2 ?? new MapStore<Uint8Array>({ name: 'l2', kind: 'remote' })
  const cache = createCache({ prefix: 'app', l1, l2, codec: jsonTestCodec(), ...overrides })
  opened.push(cache)
  const errors: Array<CacheEventMap['error']> = []
  cache.on('error', (event) => errors.push(event))
  return { cache, l1, l2, errors }
}

describe('grace (stale-if-error)', () => {
  it('serves the stale value when the factory fails, then backs off before trying again', async () => {
    const clock = controlDate()
    const { cache, errors } = setup({ grace: '1m', graceBackoff: 80 })
    await cache.set('k', 'old', { ttl: 20 })
    clock.advance(21)
    let calls = 0
    const failing = async () => {
      calls++
      throw new Error('source down')
    }
    expect(await cache.get('k')).toBeUndefined() // get never serves stale
    expect(await cache.getOrSet('k', failing)).toBe('old')
    expect(await cache.getOrSet('k', failing)).toBe('old')
    expect(calls).toBe(1) // the second call was inside the backoff
    expect(errors.map((event) => event.error.code)).toEqual(['E_FACTORY_ERROR'])
    expect(errors[0]!.error.cause).toEqual(new Error('source down'))
    expect(cache.stats().staleHits).toBe(2)
    clock.advance(79)
    expect(await cache.getOrSet('k', failing)).toBe('old') // still backing off, 1 ms before its end
    expect(calls).toBe(1)
    clock.advance(1)
    expect(await cache.getOrSet('k', () => 'new')).toBe('new')
    expect(await cache.get('k')).toBe('new')
  })

  it('throws the factory error when there is nothing stale to serve', async () => {
    const clock = controlDate()
    const { cache } = setup({ grace: '1m' })
    await cache.set('k', 'old', { ttl: 20, grace: false })
    clock.advance(21)
    await expect(
      cache.getOrSet('k', () => {
        throw new Error('source down')
      }),
    ).rejects.toThrow('source down')
  })

  it('serves stale from L1 while L2 is down and the factory fails', async () => {
    const clock = controlDate()
    const { cache, l2 } = setup({ grace: '1m', breaker: { failureThreshold: 1 } })
    await cache.set('k', 'old', { ttl: 20 })
    clock.advance(21)
    l2.failing = true
    expect(
      await cache.getOrSet('k', () => {
        throw new Error('source down too')
      }),
    ).toBe('old')
  })
})

describe('factory timeouts', () => {
  it('soft: returns the stale value without waiting for the factory, and caches its result when it lands', async () => {
    const clock = controlDate()
    const { cache } = setup({ grace: '1m', timeouts: { soft: 20 } })
    await cache.set('k', 'old', { ttl: 10 })
    clock.advance(11)
    const factory = gate<string>()
    // The factory lands only when the test says so: the caller can only have its answer through the
    // soft timeout. The race bounds a hang; it is no claim about speed.
    const value = await Promise.race([
      cache.getOrSet('k', () => factory.closed),
      sleep(5_000).then(() => 'still waiting'),
    ])
    expect(value).toBe('old')
    expect(await cache.get('k')).toBeUndefined() // nothing fresh yet: the factory is still running
    factory.open('new')
    expect(await until(async () => (await cache.get('k')) === 'new')).toBe(true)
  })

  it('soft: waits for the factory when there is no stale value', async () => {
    const { cache } = setup({ timeouts: { soft: 10 } })
    const value = await cache.getOrSet('cold', async () => {
      await sleep(60)
      return 'made'
    })
    expect(value).toBe('made')
  })

  it('hard: rejects with E_FACTORY_HARD_TIMEOUT and still caches the late result', async () => {
    const { cache } = setup()
    const factory = gate<string>()
    const call = cache.getOrSet('k', () => factory.closed, { timeouts: { hard: 20 } })
    const outcome = await Promise.race([call.catch((error: unknown) => error), sleep(5_000)])
    expect(outcome).toBeInstanceOf(FactoryHardTimeoutError)
    await expect(call).rejects.toSatisfy((error) => CacheError.hasCode(error, 'E_FACTORY_HARD_TIMEOUT'))
    factory.open('late')
    expect(await until(async () => (await cache.get('k')) === 'late')).toBe(true)
  })
})

describe('refresh-ahead', () => {
  it('refreshes an ageing entry once in the background while serving the current value', async () => {
    const clock = controlDate()
    const { cache } = setup({ refreshAhead: 0.5 })
    let version = 0
    const factory = async () => {
      version++
      await sleep(30)
      return `v${version}`
    }
    expect(await cache.getOrSet('hot', factory, { ttl: 200 })).toBe('v1')
    clock.advance(99) // not yet half of the TTL
    expect(await cache.getOrSet('hot', factory, { ttl: 200 })).toBe('v1')
    await settle()
    expect(version).toBe(1)
    clock.advance(21) // past half of the TTL
    const hits = await Promise.all(
      Array.from({ length: 20 }, () => cache.getOrSet('hot', factory, { ttl: 200 })),
    )
    expect(new Set(hits)).toEqual(new Set(['v1']))
    expect(await until(async () => (await cache.get('hot')) === 'v2')).toBe(true)
    expect(version).toBe(2)
    clock.advance(150) // v1 would have expired by now; v2 is fresh
    expect(await cache.get('hot')).toBe('v2')
  })

  it('does nothing when off', async () => {
    const clock = controlDate()
    const { cache } = setup()
    let calls = 0
    await cache.getOrSet('k', () => ++calls, { ttl: 100 })
    clock.advance(80)
    await cache.getOrSet('k', () => ++calls, { ttl: 100 })
    await settle()
    expect(calls).toBe(1)
  })

  it('rejects a fraction outside (0, 1)', () => {
    expect(() => createCache({ l1: new MapStore<CacheEntry>(), refreshAhead: 1.5 })).toThrow(/refreshAhead/)
  })
})

describe('distributed single flight', () => {
  it('runs the factory once across caches that share L2', async () => {
    const l2 = new MapStore<Uint8Array>({ name: 'l2', kind: 'remote' })
    const hub = new LocalBusHub()
    const caches = Array.from(
      { length: 4 },
      () => setup({ lock: 'distributed', bus: hub.createBus() }, { l2 }).cache,
    )
    await Promise.all(caches.map((cache) => cache.ready()))
    let calls = 0
    const results = await Promise.all(
      caches.flatMap((cache) =>
        Array.from({ length: 50 }, () =>
          cache.getOrSet('cold', async () => {
            calls++
            await sleep(40)
            return 'built once'
          }),
        ),
      ),
    )
    expect(calls).toBe(1)
    expect(new Set(results)).toEqual(new Set(['built once']))
  })

  it('takes over when the lock owner died without releasing, once its lock expired', async () => {
    const clock = controlDate()
    const l2 = new MapStore<Uint8Array>({ name: 'l2', kind: 'remote' })
    const { cache } = setup({ lock: 'distributed', lockTtl: 100 }, { l2 })
    // A process that took the lock and crashed: its lock only expires.
    expect(await l2.lock.acquire('app:%lock:k', 100)).toBeDefined()
    let outcome: unknown
    const call = cache
      .getOrSet('k', () => 'taken over')
      .then((value) => {
        outcome = value
      })
    // It keeps asking for the lock and looking at L2 (real timers), and waits while the lock lives.
    const callsBefore = l2.calls
    await until(() => outcome !== undefined || l2.calls - callsBefore >= 6)
    expect(outcome).toBeUndefined()
    expect(l2.calls - callsBefore).toBeGreaterThanOrEqual(6)
    clock.advance(100) // the dead owner's lock expires
    await call
    expect(outcome).toBe('taken over')
  })

  it('serves the stale value instead of waiting while another process refreshes', async () => {
    const l2 = new MapStore<Uint8Array>({ name: 'l2', kind: 'remote' })
    const clock = controlDate()
    const { cache } = setup({ lock: 'distributed', grace: '1m' }, { l2 })
    await cache.set('k', 'old', { ttl: 10 })
    clock.advance(11)
    await l2.lock.acquire('app:%lock:k', 5_000)
    let calls = 0
    expect(await cache.getOrSet('k', () => ++calls)).toBe('old')
    expect(calls).toBe(0)
  })

  it('falls back to a local flight when the lock is unreachable', async () => {
    const { cache, l2 } = setup({ lock: 'distributed' })
    l2.failing = true
    expect(await cache.getOrSet('k', () => 'made locally')).toBe('made locally')
  })
})

describe('L1 synchronisation over the bus', () => {
  function pair() {
    const l2 = new MapStore<Uint8Array>({ name: 'l2', kind: 'remote' })
    const hub = new LocalBusHub()
    const busA = hub.createBus()
    const busB = hub.createBus()
    const a = setup({ bus: busA }, { l2 })
    const b = setup({ bus: busB }, { l2 })
    return { a, b, busB }
  }

  it('drops the other instance L1 copy on set, delete, deleteMany, clear and deleteMatching', async () => {
    const { a, b } = pair()
    await Promise.all([a.cache.ready(), b.cache.ready()])
    await a.cache.set('k', 'v1')
    expect(await b.cache.get('k')).toBe('v1')
    expect(b.l1.getSync!('app::k')?.value).toBe('v1')

    await a.cache.set('k', 'v2')
    expect(await until(async () => (await b.cache.get('k')) === 'v2')).toBe(true)

    await a.cache.delete('k')
    expect(await until(async () => (await b.cache.get('k')) === undefined)).toBe(true)

    await a.cache.setMany([
      { key: 'x', value: 1 },
      { key: 'y', value: 2 },
    ])
    expect(await b.cache.getMany(['x', 'y'])).toEqual([1, 2])
    await a.cache.deleteMany(['x', 'y'])
    expect(await until(() => b.l1.keys().length === 0)).toBe(true)

    await a.cache.set('user:1', 'u')
    await b.cache.get('user:1')
    await a.cache.deleteMatching('user:*')
    expect(await until(() => b.l1.getSync!('app::user:1') === undefined)).toBe(true)

    await a.cache.set('z', 'z')
    await b.cache.get('z')
    await a.cache.clear()
    expect(await until(() => b.l1.getSync!('app::z') === undefined)).toBe(true)
  })

  it('clears its L1 when the bus may have lost messages', async () => {
    const { a, b, busB } = pair()
    await a.cache.set('k', 'v')
    await b.cache.get('k')
    expect(b.l1.getSync!('app::k')).toBeDefined()
    busB.loseConnection()
    expect(await until(() => b.l1.getSync!('app::k') === undefined)).toBe(true)
  })

  it('does not copy into L1 a value read from L2 before a write of the same key', async () => {
    const { a, b } = pair()
    await Promise.all([a.cache.ready(), b.cache.ready()])
    await a.cache.set('k', 'v1')
    // B reads L2 slowly; A writes meanwhile; B must not keep the old value in its L1.
    const slowGet = b.l2.get.bind(b.l2)
    const answer = gate()
    let read = 0
    b.l2.get = async (key: string) => {
      const value = await slowGet(key)
      read++
      await answer.closed
      return value
    }
    const reading = b.cache.get('k')
    expect(await until(() => read === 1)).toBe(true) // B has v1 from L2, not yet its answer
    await a.cache.set('k', 'v2')
    await settle() // the bus delivers A's announcement to B
    answer.open()
    expect(await reading).toBe('v1')
    expect(b.l1.getSync!('app::k')).toBeUndefined()
    b.l2.get = slowGet
    expect(await b.cache.get('k')).toBe('v2')
  })

  it('with tracking, drops L1 copies of keys that any Redis client wrote', async () => {
    const hub = new LocalBusHub()
    const bus = hub.createBus()
    const { cache, l1 } = setup({ bus, tracking: true })
    await cache.ready()
    await cache.set('a', 1)
    await cache.set('b', 2)
    bus.reportTrackedWrites(['app::a', 'other-app:a'])
    expect(l1.getSync!('app::a')).toBeUndefined()
    expect(l1.getSync!('app::b')).toBeDefined()
    bus.reportTrackedWrites(null)
    expect(await until(() => l1.getSync!('app::b') === undefined)).toBe(true)
  })

  it('refuses tracking without a bus that can track', () => {
    expect(() => createCache({ l1: new MapStore<CacheEntry>(), tracking: true })).toThrow(/trackKeys/)
  })
})

describe('background work', () => {
  it('never throws a failed refresh at anyone, even with throwErrors', async () => {
    const clock = controlDate()
    const { cache, errors } = setup({ refreshAhead: 0.5, throwErrors: true })
    const unhandled: unknown[] = []
    const onUnhandled = (reason: unknown) => unhandled.push(reason)
    process.on('unhandledRejection', onUnhandled)
    try {
      await cache.getOrSet('k', () => 'v1', { ttl: 100 })
      clock.advance(60)
      expect(
        await cache.getOrSet(
          'k',
          () => {
            throw new Error('refresh failed')
          },
          { ttl: 100 },
        ),
      ).toBe('v1')
      expect(await until(() => errors.some((event) => event.operation === 'refresh'))).toBe(true)
      await sleep(20)
      expect(unhandled).toEqual([])
    } finally {
      process.off('unhandledRejection', onUnhandled)
    }
  })
})

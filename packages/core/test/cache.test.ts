import { afterEach, describe, expect, it } from 'vitest'
import {
  type CacheEntry,
  CacheError,
  type CacheEventMap,
  type CacheOptions,
  createCache,
  decodeEntry,
  InvalidDurationError,
  InvalidOptionError,
} from '../src/index.js'
import { jsonTestCodec } from './support/json_codec.js'
import { MapStore } from './support/map_store.js'
import { controlDate } from './support/test_clock.js'

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

function tiers(overrides: Partial<CacheOptions> = {}) {
  const l1 = new MapStore<CacheEntry>({ name: 'l1' })
  const l2 = new MapStore<Uint8Array>({ name: 'l2', kind: 'remote' })
  const fallback = new MapStore<CacheEntry>({ name: 'fallback' })
  const cache = createCache({ prefix: 'app', l1, l2, fallback, codec: jsonTestCodec(), ...overrides })
  const errors: Array<CacheEventMap['error']> = []
  cache.on('error', (event) => errors.push(event))
  return { cache, l1, l2, fallback, errors }
}

describe('Cache', () => {
  const opened: Array<{ close(): Promise<void> }> = []
  const setup = (overrides?: Partial<CacheOptions>) => {
    const parts = tiers(overrides)
    opened.push(parts.cache)
    return parts
  }
  afterEach(async () => {
    await Promise.all(opened.splice(0).map((cache) => cache.close()))
  })

  describe('reads and writes', () => {
    it('keeps decoded entries in L1 and framed bytes in L2', async () => {
      const { cache, l1, l2 } = setup()
      const user = { id: 1, name: 'Ada' }
      await cache.set('user:1', user, { ttl: '1m' })
      expect(l1.getSync!('app::user:1')?.value).toBe(user)
      const bytes = await l2.get('app::user:1')
      expect(decodeEntry(bytes!, jsonTestCodec(), 'app::user:1').value).toEqual(user)
      expect(await cache.get('user:1')).toBe(user)
      expect(await cache.has('user:1')).toBe(true)
      expect(await cache.has('user:2')).toBe(false)
    })

    it('reads L2 after an L1 miss and copies the entry into L1', async () => {
      const { cache, l1 } = setup()
      await cache.set('k', { n: 1 })
      await l1.clear()
      expect(await cache.get('k')).toEqual({ n: 1 })
      expect(l1.getSync!('app::k')?.value).toEqual({ n: 1 })
      expect(cache.stats().tiers.l2.hits).toBe(1)
    })

    it('shares L2 between two caches, as two processes would', async () => {
      const l2 = new MapStore<Uint8Array>({ name: 'l2', kind: 'remote' })
      const a = createCache({ prefix: 'app', l1: new MapStore<CacheEntry>(), l2, codec: jsonTestCodec() })
      const b = createCache({ prefix: 'app', l1: new MapStore<CacheEntry>(), l2, codec: jsonTestCodec() })
      opened.push(a, b)
      await a.set('shared', 'from a')
      expect(await b.get('shared')).toBe('from a')
    })

    it('gets and sets many keys with one L2 call each', async () => {
      const { cache, l1, l2 } = setup()
      await cache.setMany([
        { key: 'a', value: 1 },
        { key: 'b', value: 2, ttl: '1m' },
      ])
      await l1.clear()
      const callsBefore = l2.calls
      expect(await cache.getMany(['a', 'missing', 'b'])).toEqual([1, undefined, 2])
      expect(l2.calls - callsBefore).toBe(1)
      expect(await cache.getMany(['a', 'b'])).toEqual([1, 2])
      expect(l2.calls - callsBefore).toBe(1)
      // A miss is an entry, not a hole: `for...in` (as Keyv reads it) and `forEach` see all three.
      expect(Object.keys(await cache.getMany(['a', 'missing', 'b']))).toEqual(['0', '1', '2'])
    })

    it('deletes from every tier', async () => {
      const { cache, l1, l2 } = setup()
      await cache.setMany([
        { key: 'a', value: 1 },
        { key: 'b', value: 2 },
        { key: 'c', value: 3 },
      ])
      expect(await cache.delete('a')).toBe(true)
      expect(await cache.delete('a')).toBe(false)
      expect(await cache.deleteMany(['b', 'c', 'zzz'])).toBe(2)
      expect(l1.keys()).toEqual([])
      expect(await l2.getMany(['app::a', 'app::b', 'app::c'])).toEqual([undefined, undefined, undefined])
    })

    it('works with L1 only and with L2 only', async () => {
      const memoryOnly = createCache({ l1: new MapStore<CacheEntry>() })
      const remoteOnly = createCache({
        l2: new MapStore<Uint8Array>({ kind: 'remote' }),
        codec: jsonTestCodec(),
      })
      opened.push(memoryOnly, remoteOnly)
      for (const cache of [memoryOnly, remoteOnly]) {
        await cache.set('k', [1, 2])
        expect(await cache.get('k')).toEqual([1, 2])
        expect(await cache.getOrSet('other', () => 'made')).toBe('made')
        expect(await cache.getMany(['k', 'x'])).toEqual([[1, 2], undefined])
      }
    })

    it('refuses a cache without tiers and an L2 without codec, with typed errors', () => {
      expect(() => createCache({})).toThrow(InvalidOptionError)
      expect(() => createCache({ l2: new MapStore<Uint8Array>({ kind: 'remote' }) })).toThrow(/codec/)
    })

    it('uses the L2 store codec when none is given', async () => {
      const l2 = Object.assign(new MapStore<Uint8Array>({ kind: 'remote' }), { codec: jsonTestCodec() })
      const cache = createCache({ l2 })
      opened.push(cache)
      await cache.set('k', 'v')
      expect(await cache.get('k')).toBe('v')
    })
  })

  describe('TTL', () => {
    it('stops serving a value after its TTL, from every tier', async () => {
      const clock = controlDate()
      const { cache } = setup()
      await cache.set('brief', 'v', { ttl: 40 })
      expect(await cache.get('brief')).toBe('v')
      clock.advance(39)
      expect(await cache.get('brief')).toBe('v')
      clock.advance(2)
      expect(await cache.get('brief')).toBeUndefined()
      expect(await cache.has('brief')).toBe(false)
    })

    it('applies a TTL function of the value and the moment', async () => {
      const { cache, l1 } = setup({
        ttl: (value, { now }) => (now.getHours() >= 0 && value === 'short' ? 30 : '1h'),
      })
      await cache.set('a', 'short')
      await cache.set('b', 'long')
      expect(l1.getSync!('app::a')!.expiresAt - l1.getSync!('app::a')!.createdAt).toBe(30)
      expect(l1.getSync!('app::b')!.expiresAt - l1.getSync!('app::b')!.createdAt).toBe(3_600_000)
    })

    it('defaults to one hour, and Infinity keeps a value forever', async () => {
      const { cache, l1 } = setup()
      await cache.set('default', 1)
      await cache.set('forever', 2, { ttl: Number.POSITIVE_INFINITY })
      const entry = l1.getSync!('app::default')!
      expect(entry.expiresAt - entry.createdAt).toBe(3_600_000)
      expect(l1.getSync!('app::forever')!.expiresAt).toBe(Number.POSITIVE_INFINITY)
    })

    it('caps the life of L1 copies with l1MaxTtl', async () => {
      const clock = controlDate()
      const { cache, l1 } = setup({ l1MaxTtl: 30 })
      await cache.set('k', 'v', { ttl: '1h' })
      clock.advance(29)
      expect(l1.getSync!('app::k')).toBeDefined()
      clock.advance(1)
      expect(l1.getSync!('app::k')).toBeUndefined()
      expect(await cache.get('k')).toBe('v')
    })

    it('throws a typed error for an invalid TTL: that is a bug in the caller, not a cache failure', async () => {
      const { cache } = setup()
      // @ts-expect-error not a duration
      await expect(cache.set('k', 'v', { ttl: 'soon' })).rejects.toBeInstanceOf(InvalidDurationError)
    })

    it('gives profiles their own defaults', async () => {
      const { cache, l1 } = setup()
      const permissions = cache.profile('permissions', { ttl: '5m' })
      await permissions.set('perm:1', ['read'])
      const entry = l1.getSync!('app::perm:1')!
      expect(entry.expiresAt - entry.createdAt).toBe(300_000)
      await cache.profile('permissions').set('perm:2', ['write'])
      expect(l1.getSync!('app::perm:2')!.expiresAt - l1.getSync!('app::perm:2')!.createdAt).toBe(300_000)
      expect(() => cache.profile('unknown')).toThrow(InvalidOptionError)
    })
  })

  describe('getOrSet and wrap', () => {
    it('runs the factory once for 1,000 concurrent callers of a cold key', async () => {
      const { cache } = setup()
      let calls = 0
      const results = await Promise.all(
        Array.from({ length: 1_000 }, () =>
          cache.getOrSet('cold', async () => {
            calls++
            await sleep(20)
            return { built: true }
          }),
        ),
      )
      expect(calls).toBe(1)
      expect(results.every((result) => result.built)).toBe(true)
      expect(await cache.get('cold')).toEqual({ built: true })
    })

    it('hands the factory error to every waiter and retries on the next call', async () => {
      const { cache } = setup()
      const failing = Promise.all([
        cache.getOrSet('k', async () => {
          await sleep(5)
          throw new Error('db down')
        }),
        cache.getOrSet('k', () => 'never'),
      ])
      await expect(failing).rejects.toThrow('db down')
      expect(await cache.getOrSet('k', () => 'second try')).toBe('second try')
    })

    it('lets the factory skip caching or set its own TTL', async () => {
      const { cache, l1 } = setup()
      expect(
        await cache.getOrSet('empty', (context) => {
          context.skip()
          return []
        }),
      ).toEqual([])
      expect(await cache.has('empty')).toBe(false)
      await cache.getOrSet('token', (context) => {
        context.setTtl('2s')
        return 'abc'
      })
      const entry = l1.getSync!('app::token')!
      expect(entry.expiresAt - entry.createdAt).toBe(2_000)
    })

    it('wraps a function so calls with equal arguments share a cached result', async () => {
      const { cache } = setup()
      let calls = 0
      async function findUser(id: number) {
        calls++
        return { id }
      }
      const cachedFindUser = cache.wrap(findUser, { ttl: '1m' })
      expect(await cachedFindUser(1)).toEqual({ id: 1 })
      expect(await cachedFindUser(1)).toEqual({ id: 1 })
      expect(await cachedFindUser(2)).toEqual({ id: 2 })
      expect(calls).toBe(2)
      expect(await cache.get('findUser:[1]')).toEqual({ id: 1 })
      const byKey = cache.wrap((id: number) => ({ id, calls: ++calls }), { key: (id) => `u:${id}` })
      expect(await byKey(7)).toEqual(await byKey(7))
      expect(() => cache.wrap((x: number) => x)).toThrow(InvalidOptionError)
    })
  })

  describe('namespaces', () => {
    it('never lets one namespace read or clear another', async () => {
      const { cache } = setup()
      const ab = cache.namespace('a:b')
      const aThenB = cache.namespace('a').namespace('b')
      await ab.set('k', 'ab')
      await aThenB.set('k', 'a/b')
      expect(await ab.get('k')).toBe('ab')
      expect(await aThenB.get('k')).toBe('a/b')

      const star = cache.namespace('a*')
      const plain = cache.namespace('ab')
      await star.set('k', 'star')
      await plain.set('k', 'plain')
      await star.clear()
      expect(await star.get('k')).toBeUndefined()
      expect(await plain.get('k')).toBe('plain')
    })

    it('escapes hash tags and separators in names', async () => {
      const { cache, l2 } = setup()
      await cache.namespace('{tenant}:1%').set('k', 1)
      expect(l2.keys()).toEqual(['app:%7Btenant%7D%3A1%25::k'])
    })

    it('deletes by pattern inside its namespace only, without widening on glob characters in the name', async () => {
      const { cache } = setup()
      const star = cache.namespace('t*')
      const other = cache.namespace('tx')
      await star.setMany([
        { key: 'user:1', value: 1 },
        { key: 'user:2', value: 2 },
        { key: 'order:1', value: 3 },
      ])
      await other.set('user:1', 'other tenant')
      expect(await star.deleteMatching('user:*')).toBe(2)
      expect(await star.getMany(['user:1', 'user:2', 'order:1'])).toEqual([undefined, undefined, 3])
      expect(await other.get('user:1')).toBe('other tenant')
    })

    it('clears only its own namespace, and the root clears its prefix only', async () => {
      const l2 = new MapStore<Uint8Array>({ kind: 'remote' })
      l2.poke('other-app:k', new Uint8Array([1]))
      const cache = createCache({ prefix: 'app', l1: new MapStore<CacheEntry>(), l2, codec: jsonTestCodec() })
      opened.push(cache)
      await cache.namespace('t1').set('k', 1)
      await cache.set('root', 2)
      await cache.clear()
      expect(l2.keys()).toEqual(['other-app:k'])
    })

    it('rejects an empty namespace name', () => {
      const { cache } = setup()
      expect(() => cache.namespace('')).toThrow(InvalidOptionError)
    })
  })

  describe('failures', () => {
    it('reads undecodable bytes in L2 as a miss and emits E_CODEC_DECODE', async () => {
      const { cache, l2, errors } = setup()
      l2.poke('app::corrupt', new TextEncoder().encode('garbage that is not a cachekit entry'))
      expect(await cache.get('corrupt')).toBeUndefined()
      expect(await cache.has('corrupt')).toBe(false)
      expect(errors.map((event) => event.error.code)).toEqual(['E_CODEC_DECODE', 'E_CODEC_DECODE'])
      expect(errors[0]!.key).toBe('app::corrupt')
      expect(await cache.getOrSet('corrupt', () => 'rebuilt')).toBe('rebuilt')
      expect(cache.stats().errors).toBe(3)
    })

    it('refuses a value the codec will not take, and leaves no older copy behind', async () => {
      const { cache, errors } = setup({ codec: jsonTestCodec(64) })
      await cache.set('k', 'small')
      await cache.set('k', 'x'.repeat(500))
      expect(errors[0]?.error.code).toBe('E_VALUE_TOO_LARGE')
      expect(await cache.get('k')).toBeUndefined()
      expect(await cache.getOrSet('big', () => 'y'.repeat(500))).toHaveLength(500)
    })

    it('keeps serving from the fallback while L2 fails, then goes back to L2 by itself', async () => {
      const { cache, l2, fallback, errors } = setup({ breaker: { failureThreshold: 2, probeInterval: 20 } })
      const transitions: string[] = []
      const openedWith: unknown[] = []
      cache.on('fallback:open', ({ error }) => {
        openedWith.push(error)
        transitions.push('open')
      })
      cache.on('fallback:close', () => transitions.push('close'))
      const closed = new Promise<void>((resolve) => cache.on('fallback:close', () => resolve()))
      await cache.set('stale-in-l2', 'before outage')

      l2.failing = true
      expect(await cache.getOrSet('a', () => 'made during outage')).toBe('made during outage')
      expect(await cache.getOrSet('b', () => 'also')).toBe('also')
      expect(cache.stats().usingFallback).toBe(true)
      // A typed error, whatever the store threw: the store's own error is its cause.
      expect(openedWith.map((error) => CacheError.hasCode(error, 'E_STORE_FAILURE'))).toEqual([true])
      expect(errors.length).toBeGreaterThanOrEqual(2)
      expect(errors.every((event) => CacheError.hasCode(event.error, 'E_STORE_FAILURE'))).toBe(true)

      const callsWhileOpen = l2.calls
      await cache.set('stale-in-l2', 'during outage')
      expect(await cache.get('c')).toBeUndefined()
      expect(l2.calls - callsWhileOpen).toBeLessThanOrEqual(1) // at most a probe, never a caller
      expect(await fallback.get('app::stale-in-l2')).toBeDefined()

      l2.failing = false
      // The probe finds L2 back; the race bounds a hang, it is no claim about how soon.
      expect(await Promise.race([closed.then(() => 'closed'), sleep(10_000).then(() => 'still open')])).toBe(
        'closed',
      )
      expect(cache.stats().usingFallback).toBe(false)
      expect(transitions).toEqual(['open', 'close'])
      // The key written during the outage lost its old L2 copy instead of keeping it.
      expect(await l2.get('app::stale-in-l2')).toBeUndefined()
      expect(fallback.keys()).toEqual([])
      await cache.set('after', 'recovered')
      expect(await l2.get('app::after')).toBeDefined()
    })

    it('times out a remote tier that does not answer', async () => {
      const l2 = new MapStore<Uint8Array>({ kind: 'remote' })
      const hanging = Object.assign(Object.create(l2) as MapStore<Uint8Array>, {
        get: () => new Promise<undefined>(() => undefined),
      })
      const cache = createCache({ l2: hanging, codec: jsonTestCodec(), l2Timeout: 30 })
      opened.push(cache)
      const errors: Error[] = []
      cache.on('error', ({ error }) => errors.push(error))
      // The store never answers: only the timeout can end the call. The race bounds a hang.
      const outcome = await Promise.race([cache.get('k'), sleep(10_000).then(() => 'still waiting')])
      expect(outcome).toBeUndefined()
      expect(errors[0]?.message).toMatch(/within 30 ms/)
    })

    it('throws cache failures when asked to', async () => {
      const { cache, l2 } = setup({ throwErrors: true })
      l2.failing = true
      await expect(cache.get('k')).rejects.toSatisfy((error) => CacheError.hasCode(error, 'E_STORE_FAILURE'))
    })

    it('survives a listener that throws', async () => {
      const { cache } = setup()
      cache.on('set', () => {
        throw new Error('bad listener')
      })
      await expect(cache.set('k', 'v')).resolves.toBeUndefined()
    })
  })

  describe('stats, events, close', () => {
    it('counts hits, misses, sets, deletes per tier', async () => {
      const { cache, l1 } = setup()
      const hits: string[] = []
      cache.on('hit', ({ tier }) => hits.push(tier))
      await cache.set('k', 1)
      await cache.get('k')
      await l1.clear()
      await cache.get('k')
      await cache.get('missing')
      await cache.delete('k')
      const stats = cache.stats()
      expect(stats).toMatchObject({
        hits: 2,
        misses: 1,
        sets: 1,
        deletes: 1,
        errors: 0,
        usingFallback: false,
      })
      expect(stats.hitRate).toBeCloseTo(2 / 3)
      expect(stats.tiers.l1).toEqual({ hits: 1, misses: 2 })
      expect(stats.tiers.l2).toEqual({ hits: 1, misses: 1 })
      expect(hits).toEqual(['l1', 'l2'])
    })

    it('closes its stores, also through await using', async () => {
      const l1 = new MapStore<CacheEntry>()
      {
        await using cache = createCache({ l1 })
        await cache.set('k', 1)
      }
      await expect(l1.get('k')).rejects.toSatisfy((error) => CacheError.hasCode(error, 'E_STORE_CLOSED'))
    })

    it('rejects every call after close with E_STORE_CLOSED, as a rejected promise, never a throw', async () => {
      const { cache } = setup()
      await cache.set('k', 1)
      await cache.close()
      const calls: Array<() => Promise<unknown>> = [
        () => cache.get('k'),
        () => cache.has('k'),
        () => cache.getMany(['k']),
        () => cache.getOrSet('k', () => 2),
        () => cache.set('k', 1),
        () => cache.setMany([{ key: 'k', value: 1 }]),
        () => cache.delete('k'),
        () => cache.deleteMatching('*'),
        () => cache.clear(),
        () => cache.namespace('n').get('k'),
      ]
      for (const call of calls) {
        let pending: Promise<unknown> | undefined
        expect(() => {
          pending = call()
        }).not.toThrow()
        await expect(pending).rejects.toMatchObject({ code: 'E_STORE_CLOSED' })
      }
    })
  })
})

import { afterEach, describe, expect, it } from 'vitest'
import {
  type CacheEntry,
  type CacheEventMap,
  type CacheOptions,
  createCache,
  InvalidDurationError,
  InvalidOptionError,
  MAX_DEPENDENCIES,
} from '../src/index.js'
import { tagIndexContractSuite } from '../src/testing/index.js'
import { jsonTestCodec } from './support/json_codec.js'
import { LocalBusHub } from './support/local_bus.js'
import { MapStore } from './support/map_store.js'
import { MapTagIndex } from './support/map_tag_index.js'
import { controlDate } from './support/test_clock.js'
import { until } from './support/until.js'

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))
const busRoundTrip = () => new Promise((resolve) => setImmediate(() => setImmediate(resolve)))

tagIndexContractSuite('map (test support)', { createIndex: () => new MapTagIndex() })

describe('tags', () => {
  const opened: Array<{ close(): Promise<void> }> = []
  afterEach(async () => {
    await Promise.all(opened.splice(0).map((cache) => cache.close()))
  })

  /** One "process": its own L1, sharing L2 and the tag index with the others made from the same world. */
  function world() {
    const l2 = new MapStore<Uint8Array>({ name: 'l2', kind: 'remote' })
    const tagIndex = new MapTagIndex()
    const hub = new LocalBusHub()
    const instance = (overrides: Partial<CacheOptions> = {}) => {
      const l1 = new MapStore<CacheEntry>({ name: 'l1' })
      const cache = createCache({
        prefix: 'app',
        l1,
        l2,
        codec: jsonTestCodec(),
        tagIndex,
        bus: hub.createBus(),
        tagCleanup: false,
        ...overrides,
      })
      const errors: Array<CacheEventMap['error']> = []
      cache.on('error', (event) => errors.push(event))
      opened.push(cache)
      return { cache, l1, errors }
    }
    return { l2, tagIndex, hub, instance }
  }

  describe('invalidateTags', () => {
    it('makes every tagged entry a miss in L1 and L2, and get and has agree', async () => {
      const { instance, l2 } = world()
      const { cache, l1 } = instance()
      await cache.set('p:1', 'one', { tags: ['products'] })
      await cache.set('p:2', 'two', { tags: ['products', 'featured'] })
      await cache.set('o:1', 'order', { tags: ['orders'] })
      expect(await cache.get('p:1')).toBe('one')

      await cache.invalidateTags(['products'])

      expect(await cache.get('p:1')).toBeUndefined()
      expect(await cache.has('p:1')).toBe(false)
      expect(await cache.getMany(['p:1', 'p:2', 'o:1'])).toEqual([undefined, undefined, 'order'])
      expect(await cache.has('o:1')).toBe(true)
      // The read dropped the invalidated copies physically too (in the background).
      expect(await until(async () => (await l2.get('app::p:1')) === undefined)).toBe(true)
      expect(l1.getSync!('app::p:1')).toBeUndefined()
    })

    it('has() is false after a tag delete even when only L2 holds the entry (bentocache #64)', async () => {
      const { instance } = world()
      const { cache } = instance({ l1: undefined })
      await cache.set('k', 'v', { tags: ['t'] })
      expect(await cache.has('k')).toBe(true)
      await cache.invalidateTags(['t'])
      expect(await cache.has('k')).toBe(false)
      expect(await cache.get('k')).toBeUndefined()
    })

    it('re-setting a key with other tags replaces its tags (bentocache #83)', async () => {
      const { instance } = world()
      const { cache } = instance()
      await cache.set('k', 'v1', { tags: ['a'] })
      await cache.set('k', 'v2', { tags: ['b'] })
      await cache.invalidateTags(['a'])
      expect(await cache.get('k')).toBe('v2')
      await cache.invalidateTags(['b'])
      expect(await cache.get('k')).toBeUndefined()
    })

    it('a write right after an invalidation stands, even within the same millisecond', async () => {
      const { instance } = world()
      const { cache } = instance()
      for (let i = 0; i < 50; i++) {
        await cache.set('k', i, { tags: ['t'] })
        await cache.invalidateTags(['t'])
        await cache.set('k', i, { tags: ['t'] })
        expect(await cache.get('k')).toBe(i)
      }
    })

    it('takes tags from a function of the value, and through getOrSet and wrap', async () => {
      const { instance } = world()
      const { cache } = instance()
      await cache.set('u:1', { id: 1, team: 'red' }, { tags: (user) => [`team:${user.team}`] })
      const loaded = await cache.getOrSet('u:2', () => ({ id: 2 }), { tags: ['users'] })
      const find = cache.wrap(async (id: number) => ({ id }), { key: (id) => `w:${id}`, tags: ['users'] })
      await find(3)
      await cache.invalidateTags(['team:red', 'users'])
      expect(loaded).toEqual({ id: 2 })
      expect(await cache.getMany(['u:1', 'u:2', 'w:3'])).toEqual([undefined, undefined, undefined])
    })

    it('an entry whose factory ran across an invalidation is born invalidated', async () => {
      const { instance } = world()
      const { cache } = instance()
      let release!: () => void
      const gate = new Promise<void>((resolve) => {
        release = resolve
      })
      let started!: () => void
      const factoryStarted = new Promise<void>((resolve) => {
        started = resolve
      })
      const loading = cache.getOrSet(
        'k',
        async () => {
          started()
          await gate
          return 'read before the invalidation'
        },
        { tags: ['t'] },
      )
      await factoryStarted
      await cache.invalidateTags(['t'])
      release()
      expect(await loading).toBe('read before the invalidation')
      expect(await cache.get('k')).toBeUndefined()
      expect(await cache.getOrSet('k', () => 'fresh', { tags: ['t'] })).toBe('fresh')
    })

    it('works on a cache with L1 only, whose tag times are new to it', async () => {
      const tagIndex = new MapTagIndex()
      const cache = createCache({ l1: new MapStore<CacheEntry>(), tagIndex, tagCleanup: false })
      opened.push(cache)
      await cache.getOrSet('a', () => 1, { tags: ['t'] })
      await cache.set('b', 2, { tags: ['u'] })
      expect(await cache.getMany(['a', 'b', 'c'])).toEqual([1, 2, undefined])
      expect(await cache.has('a')).toBe(true)
      await cache.invalidateTags(['t'])
      expect(await cache.getMany(['a', 'b'])).toEqual([undefined, 2])
      expect(await cache.has('a')).toBe(false)
      expect(cache.stats()).toMatchObject({ hits: 3, misses: 3 }) // getOrSet's first call was one
    })

    it('keeps namespaces apart: a tag belongs to the namespace it was given in', async () => {
      const { instance } = world()
      const { cache } = instance()
      const a = cache.namespace('tenant-a')
      const b = cache.namespace('tenant-b')
      await a.set('k', 'a', { tags: ['products'] })
      await b.set('k', 'b', { tags: ['products'] })
      await a.invalidateTags(['products'])
      expect(await a.get('k')).toBeUndefined()
      expect(await b.get('k')).toBe('b')
    })

    it('costs one index call however many entries carry the tag', async () => {
      const { instance, tagIndex } = world()
      const { cache } = instance()
      await cache.setMany(
        Array.from({ length: 2_000 }, (_, i) => ({ key: `k:${i}`, value: i, tags: ['bulk'] })),
      )
      const before = { ...tagIndex.calls }
      await cache.invalidateTags(['bulk'])
      expect(tagIndex.calls.invalidate - before.invalidate).toBe(1)
      expect(await cache.get('k:0')).toBeUndefined()
      expect(await cache.get('k:1999')).toBeUndefined()
    })

    it('refuses bad tags and strategies with E_INVALID_OPTION, and tags without a tag index', async () => {
      const { instance } = world()
      const { cache } = instance()
      await expect(cache.set('k', 1, { tags: [''] })).rejects.toBeInstanceOf(InvalidOptionError)
      await expect(cache.set('k', 1, { tags: ['a\u0000b'] })).rejects.toThrow(/NUL/)
      await expect(cache.set('k', 1, { tags: 'products' as unknown as string[] })).rejects.toThrow(/array/)
      await expect(
        cache.invalidateTags(['t'], { strategy: 'later' as unknown as 'lazy' }),
      ).rejects.toMatchObject({ code: 'E_INVALID_OPTION' })
      const untagged = createCache({ l1: new MapStore<CacheEntry>() })
      opened.push(untagged)
      await expect(untagged.set('k', 1, { tags: ['t'] })).rejects.toThrow(/tagIndex/)
      await expect(untagged.invalidateTags(['t'])).rejects.toThrow(/tagIndex/)
    })
  })

  describe('across processes', () => {
    it("drops another process's L1 copy within one bus round trip", async () => {
      const { instance } = world()
      const a = instance()
      const b = instance()
      await a.cache.set('k', 'v', { tags: ['t'] })
      expect(await b.cache.get('k')).toBe('v') // now in B's L1, with the tag's time known
      await a.cache.invalidateTags(['t'])
      await busRoundTrip()
      expect(await b.cache.get('k')).toBeUndefined()
      expect(await b.cache.has('k')).toBe(false)
    })

    it('reads tag times it does not know from the index, once for many reads', async () => {
      const { instance, tagIndex } = world()
      const a = instance()
      await a.cache.invalidateTags(['t'])
      await a.cache.setMany([
        { key: 'k1', value: 1, tags: ['t'] },
        { key: 'k2', value: 2, tags: ['t'] },
      ])
      const b = instance()
      const before = tagIndex.calls.invalidatedAt
      expect(await Promise.all([b.cache.get('k1'), b.cache.get('k2')])).toEqual([1, 2])
      expect(tagIndex.calls.invalidatedAt - before).toBe(1)
      // Known from now on: L1 hits check tags without I/O.
      expect(await b.cache.get('k1')).toBe(1)
      expect(tagIndex.calls.invalidatedAt - before).toBe(1)
    })

    it('forgets tag times when the bus may have lost a message, and reads them again', async () => {
      const { instance, tagIndex } = world()
      const a = instance()
      const b = instance()
      await a.cache.set('k', 'v', { tags: ['t'] })
      expect(await b.cache.get('k')).toBe('v')
      // A message B never hears: the index has the invalidation, B's memory does not.
      await tagIndex.invalidate(['app::t'], Date.now() + 1)
      const bus = (b.cache as unknown as { core: { sync: { options: { bus: { loseConnection(): void } } } } })
        .core.sync.options.bus
      bus.loseConnection()
      expect(await b.cache.get('k')).toBeUndefined()
    })

    it('an invalidation the index refused still reaches the processes on the bus', async () => {
      const { instance, tagIndex } = world()
      const a = instance()
      const b = instance()
      await a.cache.set('k', 'v', { tags: ['t'] })
      tagIndex.failing = true
      await a.cache.invalidateTags(['t'])
      await busRoundTrip()
      // B never read the tag and cannot read it now; what it heard is enough to refuse the entry.
      expect(await b.cache.get('k')).toBeUndefined()
      expect(b.errors).toEqual([])
    })

    it('without a bus, uses the tag times it read for a second, then reads them again', async () => {
      const clock = controlDate()
      const { instance, tagIndex } = world()
      const a = instance({ bus: undefined, l1: undefined })
      const b = instance({ bus: undefined, l1: undefined })
      await a.cache.set('k', 'v', { tags: ['t'] })
      expect(await b.cache.get('k')).toBe('v') // B reads the tag's times now
      await a.cache.invalidateTags(['t'])
      const reads = tagIndex.calls.invalidatedAt
      clock.advance(1_000)
      // Within the window B trusts what it read, and has no way to hear of A's invalidation.
      expect(await b.cache.get('k')).toBe('v')
      expect(tagIndex.calls.invalidatedAt).toBe(reads)
      clock.advance(1)
      expect(await b.cache.get('k')).toBeUndefined()
      expect(tagIndex.calls.invalidatedAt).toBe(reads + 1)
    })

    it('tagTimesMaxAge sets that window, with a bus too', async () => {
      const clock = controlDate()
      const { instance, tagIndex } = world()
      const a = instance({ bus: undefined, l1: undefined })
      const b = instance({ l1: undefined, tagTimesMaxAge: '5s' }) // its bus never hears from A
      await b.cache.ready() // subscribed: nothing makes it forget what it reads from here on
      await a.cache.set('k', 'v', { tags: ['t'] })
      expect(await b.cache.get('k')).toBe('v')
      await a.cache.invalidateTags(['t'])
      clock.advance(5_000)
      expect(await b.cache.get('k')).toBe('v')
      const reads = tagIndex.calls.invalidatedAt
      clock.advance(1)
      expect(await b.cache.get('k')).toBeUndefined()
      expect(tagIndex.calls.invalidatedAt).toBe(reads + 1)
      // 0: read again at every check that is not in the same millisecond.
      const c = instance({ bus: undefined, l1: undefined, tagTimesMaxAge: 0 })
      await a.cache.set('k2', 'v', { tags: ['u'] })
      expect(await c.cache.get('k2')).toBe('v')
      await a.cache.invalidateTags(['u'])
      clock.advance(1)
      expect(await c.cache.get('k2')).toBeUndefined()
    })

    it('refuses a tagTimesMaxAge that is not a duration, with or without a tag index', () => {
      const l1 = new MapStore<CacheEntry>()
      // @ts-expect-error not a duration
      expect(() => createCache({ l1, tagIndex: new MapTagIndex(), tagTimesMaxAge: 'soon' })).toThrow(
        InvalidDurationError,
      )
      expect(() => createCache({ l1, tagTimesMaxAge: -1 })).toThrow(InvalidDurationError)
    })
  })

  describe('strategies', () => {
    it('lazy: getOrSet serves the stale value within grace while one refresh runs; get misses', async () => {
      const { instance } = world()
      const { cache } = instance()
      let calls = 0
      const factory = async () => {
        calls++
        await sleep(20)
        return `v${calls}`
      }
      expect(await cache.getOrSet('k', factory, { tags: ['t'], grace: '1m' })).toBe('v1')
      await cache.invalidateTags(['t'], { strategy: 'lazy' })
      expect(await cache.get('k')).toBeUndefined()
      expect(await cache.has('k')).toBe(false)
      const served = await Promise.all(
        [1, 2, 3].map(() => cache.getOrSet('k', factory, { tags: ['t'], grace: '1m' })),
      )
      expect(served).toEqual(['v1', 'v1', 'v1'])
      // The one refresh lands in the background.
      expect(await until(async () => (await cache.get('k')) === 'v2')).toBe(true)
      expect(calls).toBe(2)
      expect(await cache.getOrSet('k', factory, { tags: ['t'], grace: '1m' })).toBe('v2')
      expect(cache.stats().staleHits).toBe(1) // the three calls shared one flight
    })

    it('lazy without grace is a miss', async () => {
      const { instance } = world()
      const { cache } = instance()
      await cache.set('k', 'old', { tags: ['t'] })
      await cache.invalidateTags(['t'], { strategy: 'lazy' })
      expect(await cache.getOrSet('k', () => 'new', { tags: ['t'] })).toBe('new')
    })

    it('lazy on an entry kept forever is a miss, not a value served stale forever', async () => {
      const { instance } = world()
      const { cache } = instance()
      await cache.set('k', 'old', { tags: ['t'], ttl: Number.POSITIVE_INFINITY })
      await cache.invalidateTags(['t'], { strategy: 'lazy' })
      expect(await cache.getOrSet('k', () => 'new', { tags: ['t'] })).toBe('new')
    })

    it('lazy reaches other processes, and grace counts from the invalidation', async () => {
      const clock = controlDate()
      const { instance } = world()
      const a = instance()
      const b = instance()
      await a.cache.set('k', 'old', { tags: ['t'], ttl: '1h', grace: '40ms' })
      expect(await b.cache.get('k')).toBe('old')
      await a.cache.invalidateTags(['t'], { strategy: 'lazy' })
      await busRoundTrip()
      let land!: (value: string) => void
      const slow = () =>
        new Promise<string>((resolve) => {
          land = resolve
        })
      expect(await b.cache.getOrSet('k', slow, { grace: '40ms' })).toBe('old')
      clock.advance(30)
      expect(await b.cache.getOrSet('k', () => 'direct', { grace: '40ms' })).toBe('old') // within grace
      clock.advance(20)
      // Past the grace counted from the invalidation (not from the 1 h TTL), and before the refresh landed.
      expect(await b.cache.getOrSet('k', () => 'direct')).not.toBe('old')
      land('new')
    })

    it('ttl: nothing changes now, and the call is emitted', async () => {
      const { instance, tagIndex } = world()
      const { cache } = instance()
      const events: Array<CacheEventMap['tags:invalidate']> = []
      cache.on('tags:invalidate', (event) => events.push(event))
      await cache.set('k', 'v', { tags: ['t'] })
      const before = tagIndex.calls.invalidate
      await cache.invalidateTags(['t'], { strategy: 'ttl' })
      expect(await cache.get('k')).toBe('v')
      expect(tagIndex.calls.invalidate).toBe(before)
      expect(events).toEqual([{ tags: ['app::t'], strategy: 'ttl' }])
    })
  })

  describe('dependencies', () => {
    it('writing or deleting a dependency invalidates its dependents, transitively', async () => {
      const { instance } = world()
      const a = instance({ trackDependencies: true })
      const b = instance({ trackDependencies: true })
      const { cache } = a
      await cache.set('org:1', 'acme')
      await cache.set('user:42', 'ada', { dependsOn: ['org:1'] })
      await cache.set('dashboard:42', 'board', { dependsOn: ['user:42'], tags: ['orders'] })
      expect(await b.cache.get('dashboard:42')).toBe('board')

      await cache.set('org:1', 'acme inc') // two levels up
      await busRoundTrip()
      expect(await cache.get('user:42')).toBeUndefined()
      expect(await cache.get('dashboard:42')).toBeUndefined()
      expect(await b.cache.get('dashboard:42')).toBeUndefined()

      await cache.set('user:42', 'ada', { dependsOn: ['org:1'] })
      await cache.set('dashboard:42', 'board', { dependsOn: ['user:42'], tags: ['orders'] })
      await cache.invalidateTags(['orders'])
      expect(await cache.get('dashboard:42')).toBeUndefined()
      expect(await cache.get('user:42')).toBe('ada')

      await cache.set('dashboard:42', 'board', { dependsOn: ['user:42'] })
      await cache.delete('user:42')
      expect(await cache.get('dashboard:42')).toBeUndefined()
    })

    it('handles cycles and pattern deletes', async () => {
      const { instance } = world()
      const { cache } = instance({ trackDependencies: true })
      await cache.set('a', 1, { dependsOn: ['b'] })
      await cache.set('b', 2, { dependsOn: ['a'] }) // a cycle: b inherits a's tags, a's own included
      expect(await cache.get('b')).toBe(2)
      await cache.delete('a')
      expect(await cache.get('b')).toBeUndefined()

      await cache.set('user:1', 'u')
      await cache.set('report', 'r', { dependsOn: ['user:1'] })
      expect(await cache.deleteMatching('user:*')).toBe(1)
      expect(await cache.get('report')).toBeUndefined()
    })

    it('works through getOrSet, and a dependency written during the factory invalidates its result', async () => {
      const { instance } = world()
      const { cache } = instance({ trackDependencies: true })
      await cache.set('user:1', 'v1')
      const board = await cache.getOrSet(
        'board',
        async () => {
          const user = await cache.get('user:1')
          await cache.set('user:1', 'v2') // changed while the board was being computed
          return `board of ${user}`
        },
        { dependsOn: ['user:1'] },
      )
      expect(board).toBe('board of v1')
      expect(await cache.get('board')).toBeUndefined()
    })

    it("a dependency filled by getOrSet inside the dependent's factory does not invalidate it", async () => {
      const { instance } = world()
      const { cache } = instance({ trackDependencies: true })
      let loads = 0
      const board = () =>
        cache.getOrSet(
          'board',
          async () => {
            loads++
            return `board of ${await cache.getOrSet('user:1', () => 'ada')}`
          },
          { dependsOn: ['user:1'] },
        )
      expect(await board()).toBe('board of ada')
      expect(await board()).toBe('board of ada')
      expect(loads).toBe(1)
      await cache.set('user:1', 'ada l.') // an explicit write is a change
      expect(await board()).toBe('board of ada l.')
      expect(loads).toBe(2)
    })

    it(`is bounded at ${MAX_DEPENDENCIES} keys, and needs trackDependencies`, async () => {
      const { instance } = world()
      const { cache } = instance({ trackDependencies: true })
      const many = Array.from({ length: MAX_DEPENDENCIES + 1 }, (_, i) => `d:${i}`)
      await expect(cache.set('k', 1, { dependsOn: many })).rejects.toThrow(/at most 256/)
      await expect(cache.set('k', 1, { dependsOn: many.slice(1) })).resolves.toBeUndefined()
      const plain = instance()
      await expect(plain.cache.set('k', 1, { dependsOn: ['x'] })).rejects.toThrow(/trackDependencies/)
      expect(() => createCache({ l1: new MapStore<CacheEntry>(), trackDependencies: true })).toThrow(
        InvalidOptionError,
      )
    })
  })

  describe('clean-up and failures', () => {
    it('removes invalidated entries from L1 and L2 in the background, in bounded batches', async () => {
      const { instance, l2 } = world()
      const { cache, l1 } = instance({ tagCleanup: { batchSize: 7, pause: 0 } })
      await cache.setMany(Array.from({ length: 30 }, (_, i) => ({ key: `t:${i}`, value: i, tags: ['gone'] })))
      await cache.setMany(
        Array.from({ length: 5 }, (_, i) => ({ key: `keep:${i}`, value: i, tags: ['kept'] })),
      )
      const done = new Promise<CacheEventMap['tags:cleanup']>((resolve) => cache.on('tags:cleanup', resolve))
      await cache.invalidateTags(['gone'])
      const report = await done
      expect(report.removed).toBe(60) // 30 from L1, 30 from L2
      expect(report.scanned).toBe(70)
      expect(await l2.get('app::t:3')).toBeUndefined()
      expect(l1.getSync!('app::t:3')).toBeUndefined()
      expect(await cache.get('keep:4')).toBe(4)
    })

    it('an invalidation the index refused is kept and sent again; unreadable tags read as misses', async () => {
      const { instance, tagIndex } = world()
      const a = instance()
      await a.cache.set('k', 'v', { tags: ['t'] })
      tagIndex.failing = true
      await a.cache.invalidateTags(['t'])
      expect(a.errors.map((event) => event.error.code)).toContain('E_STORE_FAILURE')

      const b = instance({ bus: undefined }) // did not hear it either
      expect(await b.cache.get('k')).toBeUndefined() // cannot read the tag's time: a miss, never stale
      expect(b.errors.map((event) => event.error.code)).toEqual(['E_STORE_FAILURE'])
      expect(await a.cache.get('k')).toBeUndefined() // this process knows already

      tagIndex.failing = false
      // Retried in the background (250 ms, then longer) until the index takes it.
      expect(await until(() => tagIndex.timeOf('app::t') > 0)).toBe(true)
    })
  })
})

import fc from 'fast-check'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { type Cache, type CacheEntry, createCache } from '../src/index.js'
import { jsonTestCodec } from './support/json_codec.js'
import { MapStore } from './support/map_store.js'
import { MapTagIndex } from './support/map_tag_index.js'

const KEYS = ['k0', 'k1', 'k2', 'k3'] as const
const TAGS = ['t0', 't1', 't2'] as const
const NOT_CACHED = Symbol('not cached')

type Op =
  | { op: 'set'; key: string; value: number; tags: string[]; ttl: number }
  | { op: 'invalidate'; tags: string[]; strategy: 'immediate' | 'lazy' }
  | { op: 'delete'; key: string }
  | { op: 'advance'; ms: number }
  | { op: 'evict'; key: string; tier: 'l1' | 'l2' }

const op: fc.Arbitrary<Op> = fc.oneof(
  fc.record({
    op: fc.constant('set' as const),
    key: fc.constantFrom(...KEYS),
    value: fc.integer({ min: 0, max: 1_000 }),
    tags: fc.subarray([...TAGS]),
    ttl: fc.constantFrom(50, 1_000, Number.POSITIVE_INFINITY),
  }),
  fc.record({
    op: fc.constant('invalidate' as const),
    tags: fc.subarray([...TAGS], { minLength: 1 }),
    strategy: fc.constantFrom('immediate' as const, 'lazy' as const),
  }),
  fc.record({ op: fc.constant('delete' as const), key: fc.constantFrom(...KEYS) }),
  fc.record({ op: fc.constant('advance' as const), ms: fc.constantFrom(0, 30, 60, 2_000) }),
  fc.record({
    op: fc.constant('evict' as const),
    key: fc.constantFrom(...KEYS),
    tier: fc.constantFrom('l1' as const, 'l2' as const),
  }),
)

/** What the cache may answer for a key: the value it must return at most, or nothing at all. */
interface Expected {
  value: number
  expiresAt: number
  tags: readonly string[]
}

describe('the read path', () => {
  // Write times only move forward within a process (clock.ts), so the faked clock must never go
  // back either: each test starts where the last one left it.
  let clock = Date.now()
  beforeEach(() => {
    // Only Date is faked: stores, promises and timers stay real, and the test moves the clock.
    vi.useFakeTimers({ toFake: ['Date'] })
    vi.setSystemTime(Math.max(clock, Date.now()))
  })
  afterEach(() => {
    clock = Date.now()
    vi.useRealTimers()
  })

  it('counts one L1 hit once, also when the entry needed its tag times read first', async () => {
    const l1 = new MapStore<CacheEntry>({ name: 'l1' })
    const tagIndex = new MapTagIndex()
    const writer = createCache({ prefix: 'app', l1, tagIndex })
    await writer.set('k', 1, { tags: ['t'] })
    // Another cache on the same L1 has never heard of `t`: its read resolves the tag, then hits.
    const reader = createCache({ prefix: 'app', l1, tagIndex })
    expect(await reader.get('k')).toBe(1)
    expect(reader.stats().tiers.l1).toEqual({ hits: 1, misses: 0 })
    expect(reader.stats().hits).toBe(1)
    expect(await reader.get('k')).toBe(1)
    expect(reader.stats().tiers.l1).toEqual({ hits: 2, misses: 0 })
    await Promise.all([writer.close(), reader.close()])
  })

  it('counts an L2 hit as one L1 miss and one L2 hit, and a miss once in each tier', async () => {
    const l1 = new MapStore<CacheEntry>({ name: 'l1' })
    const l2 = new MapStore<Uint8Array>({ name: 'l2', kind: 'remote' })
    const cache = createCache({ prefix: 'app', l1, l2, codec: jsonTestCodec() })
    await cache.set('k', 1)
    await l1.clear()
    expect(await cache.get('k')).toBe(1)
    expect(await cache.get('absent')).toBeUndefined()
    expect(await cache.getMany(['k', 'absent'])).toEqual([1, undefined])
    const { tiers, hits, misses } = cache.stats()
    expect({ hits, misses }).toEqual({ hits: 2, misses: 2 })
    expect(tiers.l1).toEqual({ hits: 1, misses: 3 })
    expect(tiers.l2).toEqual({ hits: 1, misses: 2 })
    await cache.close()
  })

  for (const withL1 of [true, false]) {
    it(`get, has, getMany and getOrSet always agree, and never serve what is gone (${withL1 ? 'L1 + L2' : 'L2 only'})`, async () => {
      await fc.assert(
        fc.asyncProperty(fc.array(op, { minLength: 1, maxLength: 25 }), async (ops) => {
          const l1 = new MapStore<CacheEntry>({ name: 'l1' })
          const l2 = new MapStore<Uint8Array>({ name: 'l2', kind: 'remote' })
          const cache = createCache({
            prefix: 'app',
            ...(withL1 ? { l1 } : {}),
            l2,
            codec: jsonTestCodec(),
            tagIndex: new MapTagIndex(),
            tagCleanup: false,
            grace: false,
          })
          const model = new Map<string, Expected>()
          try {
            for (const step of ops) {
              await apply(cache, step, model, l1, l2)
              for (const key of KEYS) await expectAgreement(cache, key, model.get(key))
            }
          } finally {
            await cache.close()
          }
        }),
        { numRuns: 150 },
      )
    }, 60_000)
  }
})

async function apply(
  cache: Cache,
  step: Op,
  model: Map<string, Expected>,
  l1: MapStore<CacheEntry>,
  l2: MapStore<Uint8Array>,
): Promise<void> {
  switch (step.op) {
    case 'set':
      await cache.set(step.key, step.value, { ttl: step.ttl, tags: step.tags })
      model.set(step.key, { value: step.value, expiresAt: Date.now() + step.ttl, tags: step.tags })
      return
    case 'invalidate':
      await cache.invalidateTags(step.tags, { strategy: step.strategy })
      // Without grace, a lazy invalidation is a miss too.
      for (const [key, expected] of model) {
        if (expected.tags.some((tag) => step.tags.includes(tag))) model.delete(key)
      }
      return
    case 'delete':
      await cache.delete(step.key)
      model.delete(step.key)
      return
    case 'advance':
      vi.setSystemTime(Date.now() + step.ms)
      for (const [key, expected] of model) if (Date.now() >= expected.expiresAt) model.delete(key)
      return
    case 'evict':
      // A store may drop anything at any time (LRU, maxmemory): the cache may then miss, never lie.
      await (step.tier === 'l1' ? l1 : l2).delete([`app::${step.key}`])
  }
}

async function expectAgreement(cache: Cache, key: string, expected: Expected | undefined): Promise<void> {
  const got = await cache.get<number>(key)
  const has = await cache.has(key)
  const [many] = await cache.getMany<number>([key])
  const loaded = await cache.getOrSet<number | typeof NOT_CACHED>(key, (context) => {
    context.skip()
    return NOT_CACHED
  })
  const answers = { got, has, many, loaded }
  expect(has, JSON.stringify({ key, answers })).toBe(got !== undefined)
  expect(many).toBe(got)
  expect(loaded).toBe(got === undefined ? NOT_CACHED : got)
  // Never a value the model says is gone, never another value than the last one written.
  if (expected === undefined) expect(got, key).toBeUndefined()
  else if (got !== undefined) expect(got, key).toBe(expected.value)
}

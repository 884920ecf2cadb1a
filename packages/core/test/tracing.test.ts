import { afterEach, describe, expect, it } from 'vitest'
import {
  type CacheEntry,
  type CacheOperationContext,
  createCache,
  isTraced,
  type TracedOperation,
  tracingChannels,
  tracingOwner,
} from '../src/index.js'
import { jsonTestCodec } from './support/json_codec.js'
import { MapStore } from './support/map_store.js'

function newCache() {
  const l1 = new MapStore<CacheEntry>({ name: 'l1' })
  const l2 = new MapStore<Uint8Array>({ name: 'l2', kind: 'remote' })
  return { cache: createCache({ prefix: 'app', l1, l2, codec: jsonTestCodec() }), l1 }
}

interface Seen {
  phase: 'start' | 'asyncEnd' | 'error'
  operation: TracedOperation
  key: string
  hit?: boolean
  tier?: string
  error?: unknown
}

const unsubscribers: Array<() => void> = []
afterEach(() => {
  for (const stop of unsubscribers.splice(0)) stop()
})

function record(operations: readonly TracedOperation[]): Seen[] {
  const seen: Seen[] = []
  for (const operation of operations) {
    const handlers = {
      start: (c: CacheOperationContext) => seen.push({ phase: 'start', operation: c.operation, key: c.key }),
      end: () => {},
      asyncStart: () => {},
      asyncEnd: (c: CacheOperationContext) =>
        seen.push({ phase: 'asyncEnd', operation: c.operation, key: c.key, hit: c.hit, tier: c.tier }),
      error: (c: CacheOperationContext) =>
        seen.push({ phase: 'error', operation: c.operation, key: c.key, error: c.error }),
    }
    tracingChannels[operation].subscribe(handlers)
    unsubscribers.push(() => tracingChannels[operation].unsubscribe(handlers))
  }
  return seen
}

describe('tracing channels', () => {
  it('are silent, and flagged unsubscribed, while no one listens', async () => {
    for (const channel of Object.values(tracingChannels)) expect(isTraced(channel)).toBe(false)
    const { cache } = newCache()
    await cache.set('a', 1)
    expect(await cache.get('a')).toBe(1)
  })

  it('trace get with hit and tier: l1, l2 and a miss', async () => {
    const { cache, l1 } = newCache()
    await cache.set('a', 1)
    const seen = record(['get'])
    expect(await cache.get('a')).toBe(1)
    await l1.clear('')
    expect(await cache.get('a')).toBe(1)
    expect(await cache.get('none')).toBeUndefined()
    expect(seen.filter((s) => s.phase === 'asyncEnd')).toEqual([
      { phase: 'asyncEnd', operation: 'get', key: 'a', hit: true, tier: 'l1' },
      { phase: 'asyncEnd', operation: 'get', key: 'a', hit: true, tier: 'l2' },
      { phase: 'asyncEnd', operation: 'get', key: 'none', hit: false, tier: undefined },
    ])
    expect(seen.filter((s) => s.phase === 'start')).toHaveLength(3)
  })

  it('trace getOrSet with its factory, set, delete, and a failing factory as an error', async () => {
    const { cache } = newCache()
    const seen = record(['getOrSet', 'factory', 'set', 'delete'])
    expect(await cache.getOrSet('k', () => 7)).toBe(7)
    expect(await cache.getOrSet('k', () => 8)).toBe(7)
    await cache.set('s', 1)
    expect(await cache.delete('s')).toBe(true)
    const failure = new Error('db down')
    await expect(
      cache.getOrSet('bad', () => {
        throw failure
      }),
    ).rejects.toThrow('db down')
    const ends = seen.filter((s) => s.phase === 'asyncEnd').map((s) => [s.operation, s.key, s.hit, s.tier])
    expect(ends).toEqual([
      ['factory', 'k', undefined, undefined],
      ['getOrSet', 'k', false, undefined],
      ['getOrSet', 'k', true, 'l1'],
      ['set', 's', undefined, undefined],
      ['delete', 's', undefined, undefined],
      ['factory', 'bad', undefined, undefined],
      ['getOrSet', 'bad', false, undefined],
    ])
    const errors = seen.filter((s) => s.phase === 'error').map((s) => s.operation)
    expect(errors).toEqual(['factory', 'getOrSet'])
  })

  it('name one owner for a cache and its views, another for another cache', async () => {
    const { cache } = newCache()
    const other = newCache().cache
    const owners: object[] = []
    const handlers = { start: (c: CacheOperationContext) => owners.push(c.owner) }
    tracingChannels.get.start.subscribe(handlers.start as (message: unknown) => void)
    unsubscribers.push(() =>
      tracingChannels.get.start.unsubscribe(handlers.start as (message: unknown) => void),
    )
    await cache.namespace('t1').get('x')
    await other.get('x')
    expect(owners[0]).toBe(tracingOwner(cache))
    expect(owners[1]).toBe(tracingOwner(other))
    expect(owners[0]).not.toBe(owners[1])
  })
})

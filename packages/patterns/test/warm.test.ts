import type { Cache, SetManyItem } from '@cachekit/core'
import { afterEach, describe, expect, it } from 'vitest'
import { type WarmEntry, type WarmProgress, warm } from '../src/index.js'
import { localCache } from './support/local.js'
import { deferred, freshPrefix, Instances, topologies } from './support/redis.js'

const items = (from: number, count: number) =>
  Array.from({ length: count }, (_, i) => ({ key: `k:${from + i}`, value: { n: from + i } }))

/** The cache with its setMany calls counted and, when `gate` is set, held until it resolves. */
function watched(cache: Cache) {
  const calls = { count: 0, inFlight: 0, maxInFlight: 0, sizes: [] as number[] }
  let gate: Promise<void> | undefined
  const setMany = async (batch: readonly SetManyItem[]) => {
    calls.count++
    calls.sizes.push(batch.length)
    calls.inFlight++
    calls.maxInFlight = Math.max(calls.maxInFlight, calls.inFlight)
    try {
      if (gate) await gate
      await cache.setMany(batch)
    } finally {
      calls.inFlight--
    }
  }
  const view = new Proxy(cache, {
    get: (target, name) => (name === 'setMany' ? setMany : Reflect.get(target, name, target)),
  })
  return {
    cache: view,
    calls,
    hold(until: Promise<void>) {
      gate = until
    },
  }
}

describe('warm', () => {
  it('writes every entry of every kind of loader, and its progress events add up to the report', async () => {
    const cache = localCache()
    function* generated() {
      for (let i = 300; i < 650; i++) yield [`k:${i}`, { n: i }] as const
    }
    async function* streamed() {
      for (const item of items(650, 400)) {
        await Promise.resolve()
        yield item
      }
    }
    const events: WarmProgress[] = []
    const report = await warm(cache, [items(0, 300), generated, streamed()], {
      batchSize: 64,
      concurrency: 4,
      onProgress: (progress) => events.push(progress),
    })
    expect(report).toMatchObject({
      done: 1050,
      failed: 0,
      total: undefined,
      aborted: false,
      failedLoaders: 0,
      errors: [],
    })
    expect(report.rate).toBeGreaterThan(0)
    const last = events.at(-1)!
    expect(last.done).toBe(report.done)
    expect(events.map((event) => event.done)).toEqual(
      [...events.map((event) => event.done)].sort((a, b) => a - b),
    )
    // One event per batch: the batches' sizes add up to what was written.
    const batches = events.map((event, i) => event.done - (events[i - 1]?.done ?? 0))
    expect(batches.reduce((sum, size) => sum + size, 0)).toBe(1050)
    expect(Math.max(...batches)).toBeLessThanOrEqual(64)
    const values = await cache.getMany(items(0, 1050).map((item) => item.key))
    expect(values).toEqual(items(0, 1050).map((item) => item.value))
  })

  it('knows the total when every loader is an array, or when told', async () => {
    const cache = localCache()
    const events: WarmProgress[] = []
    await warm(cache, [items(0, 10), items(10, 5)], { onProgress: (progress) => events.push(progress) })
    expect(events.every((event) => event.total === 15)).toBe(true)
    const told = await warm(cache, [() => items(0, 3)], { total: 3 })
    expect(told.total).toBe(3)
  })

  it('writes in batches of setMany, at most `concurrency` at a time', async () => {
    const { cache, calls, hold } = watched(localCache())
    const release = deferred()
    hold(release.promise)
    const warming = warm(cache, [items(0, 1000)], { batchSize: 100, concurrency: 3 })
    await new Promise((resolve) => setImmediate(resolve))
    expect(calls.inFlight).toBe(3)
    release.resolve()
    const report = await warming
    expect(report.done).toBe(1000)
    expect(calls).toMatchObject({ count: 10, maxInFlight: 3 })
    expect(calls.sizes).toEqual(Array(10).fill(100))
  })

  it('counts refused entries and failed loaders, writes the rest, and keeps what a failing loader gave before', async () => {
    const cache = localCache()
    const broken = new Error('database went away')
    async function* failing() {
      yield ['ok:1', 1] as const
      throw broken
    }
    const bad = [
      { key: 'good', value: 1 },
      { key: '', value: 1 },
      { key: 'undefined', value: undefined },
      ['pair'],
      42,
    ] as unknown as WarmEntry[]
    const report = await warm(cache, [bad, failing], { concurrency: 1 })
    expect(report).toMatchObject({ done: 2, failed: 4, failedLoaders: 1, aborted: false })
    expect(report.errors.find((failure) => failure.error === broken)).toMatchObject({ loader: 1 })
    expect(report.errors.filter((failure) => failure.loader === 0)).toHaveLength(4)
    expect(report.errors.find((failure) => failure.key === 'undefined')?.error).toMatchObject({
      code: 'E_INVALID_OPTION',
    })
    expect(await cache.getMany(['good', 'ok:1'])).toEqual([1, 1])
  })

  it('counts a batch the cache rejects as failed, and goes on with the next', async () => {
    const cache = localCache()
    const report = await warm(
      cache,
      [
        [
          { key: 'a', value: 1, ttl: 'soon' as never },
          { key: 'b', value: 2 },
        ],
      ],
      { batchSize: 1 },
    )
    expect(report).toMatchObject({ done: 1, failed: 1 })
    expect(report.errors[0]?.error).toMatchObject({ code: 'E_INVALID_DURATION' })
    expect(await cache.get('b')).toBe(2)
  })

  it('passes ttl, tags and grace of each item to the cache', async () => {
    const cache = localCache()
    await warm(cache, [[{ key: 'a', value: 1, ttl: 5_000, tags: ['t'], grace: 1_000 }]])
    const { entry } = cache.l1Entries()[0]!
    expect(entry.expiresAt - entry.createdAt).toBe(5_000)
    expect(entry.hardExpiresAt - entry.expiresAt).toBe(1_000)
    await cache.invalidateTags(['t'])
    expect(await cache.get('a')).toBeUndefined()
  })

  it('stops pulling loaders once its signal aborts, resolves with aborted: true, and closes the generators', async () => {
    const cache = localCache()
    const abort = new AbortController()
    let pulled = 0
    let pulledAtAbort = -1
    let closed = false
    async function* endless() {
      try {
        for (let i = 0; ; i++) {
          pulled++
          yield [`e:${i}`, i] as const
        }
      } finally {
        closed = true
      }
    }
    const report = await warm(cache, [endless()], {
      batchSize: 10,
      concurrency: 4,
      signal: abort.signal,
      onProgress: (progress) => {
        if (progress.done >= 50 && pulledAtAbort < 0) {
          pulledAtAbort = pulled
          abort.abort()
        }
      },
    })
    await new Promise((resolve) => setImmediate(resolve))
    expect(report.aborted).toBe(true)
    expect(pulled).toBe(pulledAtAbort)
    expect(closed).toBe(true)
    expect(report.done).toBeGreaterThanOrEqual(50)
    expect(report.done).toBeLessThanOrEqual(pulled)
  })

  it('pulls nothing when the signal is already aborted', async () => {
    const cache = localCache()
    let called = false
    const report = await warm(
      cache,
      [
        () => {
          called = true
          return items(0, 10)
        },
      ],
      { signal: AbortSignal.abort() },
    )
    expect(report).toMatchObject({ aborted: true, done: 0 })
    expect(called).toBe(false)
  })

  it('is not aborted when everything was read before the signal fired', async () => {
    const cache = localCache()
    const abort = new AbortController()
    const report = await warm(cache, [items(0, 5)], { signal: abort.signal })
    abort.abort()
    expect(report.aborted).toBe(false)
  })

  it('refuses what it cannot use', async () => {
    const cache = localCache()
    await expect(warm(cache, items(0, 1) as never)).rejects.toMatchObject({ code: 'E_INVALID_OPTION' })
    await expect(warm(cache, 'nope' as never)).rejects.toThrow(/list of loaders/)
    await expect(warm(cache, [], { concurrency: 0 })).rejects.toThrow(/concurrency/)
    await expect(warm(cache, [], { batchSize: 1.5 })).rejects.toThrow(/batchSize/)
    await expect(warm(cache, [], { signal: {} as AbortSignal })).rejects.toThrow(/AbortSignal/)
    await expect(warm({} as Cache, [])).rejects.toThrow(/needs a Cache/)
    expect(await warm(cache, [])).toMatchObject({ done: 0, total: 0, aborted: false })
  })
})

describe.each(topologies)('warm on %s Redis', (topology) => {
  const instances = new Instances(topology)
  afterEach(() => instances.close())

  it('fills L2, so another instance reads the warmed keys without a factory', async () => {
    const prefix = freshPrefix('warm')
    const a = instances.start(prefix)
    const b = instances.start(prefix)
    const report = await warm(a, [items(0, 2_000)], { batchSize: 250, concurrency: 4 })
    expect(report).toMatchObject({ done: 2_000, failed: 0 })
    const keys = items(0, 2_000).map((item) => item.key)
    expect(await b.getMany(keys)).toEqual(items(0, 2_000).map((item) => item.value))
    expect(b.stats().tiers.l2.hits).toBe(2_000)
  })
})

import { type CacheEntry, createCache } from '@cachekit/core'
import { memoryStore } from '@cachekit/memory'
import { describe, expect, it } from 'vitest'
import { MonitoringOptionError, operationLog, type SlowOperation } from '../src/index.js'
import { RollingWindow } from '../src/rolling_window.js'

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))
const newCache = () => createCache({ prefix: 'log', l1: memoryStore<CacheEntry>({ maxEntries: 100 }) })

describe('operationLog', () => {
  it('keeps the last slow operations in a bounded ring, emits each, and leaves keys out unless asked', async () => {
    const cache = newCache()
    const log = operationLog(cache, { slowThreshold: '15ms', capacity: 3 })
    const emitted: SlowOperation[] = []
    log.onSlow((op) => emitted.push(op))
    for (let i = 0; i < 3; i++) {
      await cache.getOrSet(`slow:${i}`, async () => {
        await sleep(25) // the factory is slow: both it and its getOrSet are logged
        return i
      })
    }
    await cache.get('fast') // under the threshold: not logged
    expect(emitted.map((op) => op.operation)).toEqual([
      'factory',
      'getOrSet',
      'factory',
      'getOrSet',
      'factory',
      'getOrSet',
    ])
    const kept = log.slow()
    expect(kept.map((op) => op.operation)).toEqual(['getOrSet', 'factory', 'getOrSet']) // the last 3, oldest first
    expect(kept.every((op) => op.durationMs >= 15 && op.key === undefined)).toBe(true)
    expect(kept.at(-1)).toMatchObject({ group: 'all', tier: 'none', failed: false })
    log.close()

    const withKeys = operationLog(cache, { slowThreshold: '15ms', includeKeys: true })
    await cache.getOrSet('slow:k', async () => {
      await sleep(25)
      return 1
    })
    expect(withKeys.slow().map((op) => op.key)).toEqual(['slow:k', 'slow:k'])
    withKeys.close()
    await cache.close()
  })

  it('gives each group its rolling hit rate and ops', async () => {
    const cache = newCache()
    const log = operationLog(cache, { keyGroups: [[/:menu:/, 'menu']], window: '60m' })
    await cache.set('menu:1', 'soup')
    for (let i = 0; i < 3; i++) await cache.get('menu:1') // 3 hits
    await cache.get('menu:2') // 1 miss
    await cache.get('user:1') // other: 1 miss
    const menu = log.window('menu')
    expect(menu).toMatchObject({ ops: 5, hitRate: 0.75, windowMs: 3_600_000 }) // set + 4 reads
    expect(menu.p50Ms).toBeGreaterThan(0)
    expect(menu.p99Ms).toBeGreaterThanOrEqual(menu.p50Ms!)
    expect(log.window('other')).toMatchObject({ ops: 1, hitRate: 0 })
    expect(log.window()).toMatchObject({ ops: 6, hitRate: 0.6 })
    expect(log.groups().sort()).toEqual(['menu', 'other'])
    log.close()
    await cache.close()
  })

  it('checks its options', () => {
    const cache = newCache()
    expect(() => operationLog(cache, { capacity: 0 })).toThrow(MonitoringOptionError)
    expect(() => operationLog(cache, { window: '1m', resolution: '5m' })).toThrow(MonitoringOptionError)
    expect(() => operationLog(cache, { window: '1d', resolution: '1ms' })).toThrow(MonitoringOptionError)
  })
})

describe('RollingWindow', () => {
  it('forgets what left the window, slot by slot, in fixed memory', () => {
    const window = new RollingWindow(60_000, 10_000) // 6 slots of 10 s
    window.record(0, 1, true)
    window.record(5_000, 2, false)
    window.record(30_000, 100, true)
    expect(window.summary(30_000)).toMatchObject({ ops: 3, hitRate: 2 / 3 })
    expect(window.summary(59_999)).toMatchObject({ ops: 3 })
    expect(window.summary(60_000)).toMatchObject({ ops: 1, hitRate: 1 }) // the first slot left
    expect(window.summary(95_000)).toMatchObject({ ops: 0, hitRate: undefined, p50Ms: undefined })
    // A slot reused a lap later starts from zero.
    window.record(120_000, 1, false)
    expect(window.summary(120_000)).toMatchObject({ ops: 1, hitRate: 0 })
  })

  it('reports percentiles as the upper bound of their bin, at most a third above the truth', () => {
    const window = new RollingWindow(60_000, 60_000)
    for (let i = 1; i <= 1000; i++) window.record(0, i / 100, undefined) // 0.01 .. 10 ms
    const { p50Ms, p99Ms } = window.summary(0)
    expect(p50Ms! / 5).toBeGreaterThanOrEqual(1)
    expect(p50Ms! / 5).toBeLessThan(1.34)
    expect(p99Ms! / 9.9).toBeGreaterThanOrEqual(1)
    expect(p99Ms! / 9.9).toBeLessThan(1.34)
  })
})

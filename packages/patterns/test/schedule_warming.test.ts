import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { scheduleWarming, type WarmReport } from '../src/index.js'
import { localCache } from './support/local.js'
import { deferred } from './support/redis.js'

beforeEach(() => {
  vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] })
})
afterEach(() => {
  vi.useRealTimers()
  vi.restoreAllMocks()
})

/** Lets the promises of a run settle without moving the fake clock. */
const settle = () => vi.advanceTimersByTimeAsync(0)

describe('scheduleWarming', () => {
  it('runs right away and then every interval, with the loaders read anew each time', async () => {
    const cache = localCache()
    let version = 0
    const reports: WarmReport[] = []
    const schedule = scheduleWarming(cache, [() => [['v', ++version] as const]], {
      every: '1s',
      onRun: (report) => reports.push(report),
    })
    await settle()
    expect(schedule.runs).toBe(1)
    expect(await cache.get('v')).toBe(1)
    await vi.advanceTimersByTimeAsync(1_000)
    expect(await cache.get('v')).toBe(2)
    await vi.advanceTimersByTimeAsync(2_000)
    expect(schedule.runs).toBe(4)
    expect(reports.map((report) => report.done)).toEqual([1, 1, 1, 1])
    await schedule.stop()
  })

  it('skips a run that comes due while the previous one is still going: runs never overlap', async () => {
    const cache = localCache()
    const slow = deferred()
    let running = 0
    let maxRunning = 0
    let first = true
    const skips: number[] = []
    const loader = async function* () {
      running++
      maxRunning = Math.max(maxRunning, running)
      try {
        if (first) {
          first = false
          await slow.promise
        }
        yield ['k', 1] as const
      } finally {
        running--
      }
    }
    const schedule = scheduleWarming(cache, [loader], { every: 100, onSkip: () => skips.push(schedule.runs) })
    await vi.advanceTimersByTimeAsync(350)
    expect(schedule).toMatchObject({ runs: 1, skipped: 3, running: true })
    expect(skips).toEqual([1, 1, 1])
    slow.resolve()
    await settle()
    expect(schedule.running).toBe(false)
    await vi.advanceTimersByTimeAsync(50)
    expect(schedule).toMatchObject({ runs: 2, skipped: 3 })
    expect(maxRunning).toBe(1)
    await schedule.stop()
  })

  it('waits between every and every + jitter', async () => {
    vi.spyOn(Math, 'random').mockReturnValue(0.5)
    const cache = localCache()
    const schedule = scheduleWarming(cache, [[['k', 1]]], { every: 1_000, jitter: 400, immediate: false })
    await vi.advanceTimersByTimeAsync(1_199)
    expect(schedule.runs).toBe(0)
    await vi.advanceTimersByTimeAsync(1)
    expect(schedule.runs).toBe(1)
    await schedule.stop()
  })

  it('stop() aborts the current run, resolves once it ended, and no run follows', async () => {
    const cache = localCache()
    const reports: WarmReport[] = []
    let pulls = 0
    const never = new Promise<never>(() => undefined)
    const loader = async function* () {
      for (;;) {
        pulls++
        yield [`k:${pulls}`, pulls] as const
        if (pulls === 3) await never
      }
    }
    const schedule = scheduleWarming(cache, [loader], {
      every: 100,
      batchSize: 1,
      concurrency: 1,
      onRun: (report) => reports.push(report),
    })
    await settle()
    await schedule.stop()
    expect(schedule).toMatchObject({ stopped: true, running: false, runs: 1 })
    expect(reports).toHaveLength(1)
    expect(reports[0]).toMatchObject({ aborted: true, done: 3 })
    const pullsAtStop = pulls
    await vi.advanceTimersByTimeAsync(1_000)
    expect(schedule.runs).toBe(1)
    expect(pulls).toBe(pullsAtStop)
  })

  it('stops with the cache, and with its signal', async () => {
    const cache = localCache()
    const schedule = scheduleWarming(cache, [[['k', 1]]], { every: 100 })
    await settle()
    await cache.close()
    expect(schedule.stopped).toBe(true)
    await vi.advanceTimersByTimeAsync(1_000)
    expect(schedule.runs).toBe(1)

    const closedFirst = localCache()
    await closedFirst.close()
    const late = scheduleWarming(closedFirst, [[['k', 1]]], { every: 100 })
    await settle()
    expect(late).toMatchObject({ stopped: true, runs: 1 })

    const other = localCache()
    const abort = new AbortController()
    const bySignal = scheduleWarming(other, [[['k', 1]]], {
      every: 100,
      signal: abort.signal,
      immediate: false,
    })
    abort.abort()
    await vi.advanceTimersByTimeAsync(1_000)
    expect(bySignal).toMatchObject({ stopped: true, runs: 0 })
  })

  it('refuses loaders that can be read only once, and bad timings', () => {
    const cache = localCache()
    function* once() {
      yield ['k', 1] as const
    }
    expect(() => scheduleWarming(cache, [once()], { every: 100 })).toThrow(/read only once/)
    expect(() => scheduleWarming(cache, [], {} as never)).toThrow(/needs `every`/)
    expect(() => scheduleWarming(cache, [], { every: 0 })).toThrow(/at least 1 ms/)
    expect(() => scheduleWarming(cache, [], { every: 'often' as never })).toThrow(
      expect.objectContaining({ code: 'E_INVALID_DURATION' }),
    )
    expect(() => scheduleWarming(cache, [], { every: 10, onRun: 1 as never })).toThrow(/onRun/)
  })
})

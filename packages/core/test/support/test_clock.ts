import { onTestFinished, vi } from 'vitest'

/** Where the controlled clock of the previous test of this file stopped. */
let highWater = 0

/**
 * Puts `Date.now()` under the test's control for the rest of the test: it stands still until
 * `advance` moves it. Only `Date` is faked; timers, promises and `performance.now()` stay real, so
 * stores, the bus, background work and `until` run as usual. Everything of the cache that expires or
 * waits on the wall clock (TTLs, grace, backoff, tag trust, refresh-ahead, lock TTLs) reads
 * `Date.now()`; timeouts run on real timers.
 *
 * The clock never goes back within a test file, because the cache's write clock only moves forward:
 * an entry written after a later fake time would otherwise be dated ahead of the next test's clock.
 */
export function controlDate(): { advance(ms: number): void } {
  const start = Math.max(Date.now(), highWater)
  vi.useFakeTimers({ toFake: ['Date'] })
  vi.setSystemTime(start)
  onTestFinished(() => {
    highWater = Date.now()
    vi.useRealTimers()
  })
  return {
    advance(ms: number) {
      vi.setSystemTime(Date.now() + ms)
    },
  }
}

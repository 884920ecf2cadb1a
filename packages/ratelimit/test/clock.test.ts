import { afterEach, describe, expect, it, vi } from 'vitest'
import { limiterOn } from './helpers.js'

// Decisions on Redis take Redis' time: an app host whose clock is wrong (here a fake Date.now
// jumping hours either way between calls) gets the same decisions as one whose clock is right.

afterEach(() => {
  vi.restoreAllMocks()
})

describe('a skewed clock on the app host changes no decision', () => {
  for (const backend of ['standalone', 'cluster'] as const)
    for (const algorithm of [
      'fixed-window',
      'sliding-window',
      'sliding-log',
      'token-bucket',
      'gcra',
    ] as const)
      it(`${algorithm} on ${backend}`, async () => {
        const limiter = limiterOn(backend, { algorithm, limit: 3, window: '1m' })
        const realNow = Date.now()
        const skews = [0, 7_200_000, -7_200_000, 86_400_000, -86_400_000]
        const decisions = []
        for (const skew of skews) {
          vi.spyOn(Date, 'now').mockReturnValue(realNow + skew)
          decisions.push(await limiter.limit('k'))
        }
        expect(decisions.map((d) => d.allowed)).toEqual([true, true, true, false, false])
        // Every decision's time is Redis' time, within the test's few milliseconds.
        for (const d of decisions) expect(Math.abs(d.decidedAt - realNow)).toBeLessThan(5_000)
      })
})

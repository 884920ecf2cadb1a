import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { MemoryDecider } from '../src/memory/memory_decider.js'
import { type Algorithm, parseRule, type Rule } from '../src/rules.js'

// The algorithms on a fake clock (µs), as the memory decider runs them (the insurance limiter and
// `memory: true`); the Redis script is the same arithmetic, and the exactness tests check it on a
// real server. Each property is the algorithm's promise, checked over random traffic.

const LIMIT = 10
const WINDOW_MS = 1000
const W = WINDOW_MS * 1000

interface Allowed {
  at: number
  cost: number
}

/** Runs `steps` (advance µs, cost) against a fresh decider; returns the allowed requests. */
function run(rule: Rule, steps: Array<[number, number]>): Allowed[] {
  let now = 1_700_000_000_000_000
  const decider = new MemoryDecider([rule], { maxKeys: 10, nowUs: () => now })
  const allowed: Allowed[] = []
  for (const [advance, cost] of steps) {
    now += advance
    const reply = decider.decideNow('k', 'l', cost)
    if (reply[3] === 1 && cost > 0) allowed.push({ at: now, cost })
  }
  return allowed
}

/** The largest total cost allowed in any interval (from, to] that ends at an allowed request. */
function heaviest(allowed: Allowed[], span: number, closedStart = false): number {
  let worst = 0
  for (const last of allowed) {
    let sum = 0
    for (const other of allowed)
      if ((closedStart ? other.at >= last.at - span : other.at > last.at - span) && other.at <= last.at)
        sum += other.cost
    worst = Math.max(worst, sum)
  }
  return worst
}

const traffic = fc.array(
  fc.tuple(
    fc.oneof(fc.constant(0), fc.integer({ min: 1, max: W / 4 }), fc.integer({ min: 1, max: 2 * W })),
    fc.oneof(
      { weight: 4, arbitrary: fc.constant(1) },
      { weight: 1, arbitrary: fc.integer({ min: 0, max: 4 }) },
    ),
  ),
  { maxLength: 120 },
)

const rule = (algorithm: Algorithm, burst?: number): Rule =>
  parseRule({ algorithm, limit: LIMIT, window: WINDOW_MS, ...(burst === undefined ? {} : { burst }) })

describe('the algorithms keep their promises over random traffic (fake clock)', () => {
  it('sliding-log: never more than the limit in any window', () => {
    fc.assert(
      fc.property(traffic, (steps) => {
        expect(heaviest(run(rule('sliding-log'), steps), W)).toBeLessThanOrEqual(LIMIT)
      }),
      { numRuns: 300 },
    )
  })

  it('fixed-window: never more than the limit in a window, and windows never overlap', () => {
    fc.assert(
      fc.property(traffic, (steps) => {
        let now = 1_700_000_000_000_000
        const decider = new MemoryDecider([rule('fixed-window')], { maxKeys: 10, nowUs: () => now })
        const windows = new Map<number, number>()
        let lastEnd = 0
        for (const [advance, cost] of steps) {
          now += advance
          const reply = decider.decideNow('k', 'l', cost)
          if (reply[3] !== 1 || cost === 0) continue
          const end = now + reply[5]!
          if (!windows.has(end)) {
            // A new window starts at or after the previous one's end, and lasts one window.
            expect(now).toBeGreaterThanOrEqual(lastEnd)
            expect(end - now).toBeLessThanOrEqual(W)
            lastEnd = end
          }
          windows.set(end, (windows.get(end) ?? 0) + cost)
        }
        for (const total of windows.values()) expect(total).toBeLessThanOrEqual(LIMIT)
      }),
      { numRuns: 300 },
    )
  })

  it('sliding-window: the limit per aligned window, under twice the limit in any window', () => {
    fc.assert(
      fc.property(traffic, (steps) => {
        const allowed = run(rule('sliding-window'), steps)
        const perWindow = new Map<number, number>()
        for (const { at, cost } of allowed)
          perWindow.set(Math.floor(at / W), (perWindow.get(Math.floor(at / W)) ?? 0) + cost)
        for (const total of perWindow.values()) expect(total).toBeLessThanOrEqual(LIMIT)
        expect(heaviest(allowed, W)).toBeLessThan(2 * LIMIT)
      }),
      { numRuns: 300 },
    )
  })

  for (const algorithm of ['token-bucket', 'gcra'] as const)
    for (const burst of [1, 4, LIMIT])
      it(`${algorithm} (burst ${burst}): at most burst + rate × t in any interval of length t`, () => {
        fc.assert(
          fc.property(traffic, (steps) => {
            const allowed = run(rule(algorithm, burst), steps)
            for (const first of allowed) {
              let sum = 0
              for (const other of allowed) {
                if (other.at < first.at) continue
                sum += other.cost
                // Floating point in the refill: one part in 1e9 of slack, never a whole request.
                expect(sum).toBeLessThanOrEqual(burst + ((other.at - first.at) * LIMIT) / W + 1e-9)
              }
            }
          }),
          { numRuns: 200 },
        )
      })

  for (const algorithm of [
    'fixed-window',
    'sliding-window',
    'sliding-log',
    'token-bucket',
    'gcra',
  ] as const) {
    it(`${algorithm}: \`remaining\` is exactly how many more requests pass now, and a denial counts nothing`, () => {
      fc.assert(
        fc.property(traffic, (steps) => {
          let now = 1_700_000_000_000_000
          const decider = new MemoryDecider([rule(algorithm)], { maxKeys: 10, nowUs: () => now })
          for (const [advance, cost] of steps) {
            now += advance
            decider.decideNow('k', 'l', cost)
          }
          const peek = decider.decideNow('k', 'p', 0)
          const remaining = peek[4]!
          for (let i = 0; i < remaining; i++) expect(decider.decideNow('k', 'l', 1)[3]).toBe(1)
          const denied = decider.decideNow('k', 'l', 1)
          expect(denied[3]).toBe(0)
          expect(decider.decideNow('k', 'p', 0)[4]).toBe(0)
          // Retrying at the announced time succeeds; a microsecond earlier it does not.
          const retry = denied[6]!
          expect(retry).toBeGreaterThan(0)
          if (retry > 1) {
            now += retry - 1
            expect(decider.decideNow('k', 'l', 1)[3]).toBe(0)
            now += 1
          } else now += retry
          expect(decider.decideNow('k', 'l', 1)[3]).toBe(1)
        }),
        { numRuns: 200 },
      )
    })

    it(`${algorithm}: a refund gives the cost back`, () => {
      let now = 1_700_000_000_000_000
      const decider = new MemoryDecider([rule(algorithm)], { maxKeys: 10, nowUs: () => now })
      for (let i = 0; i < LIMIT; i++) expect(decider.decideNow('k', 'l', 1)[3]).toBe(1)
      expect(decider.decideNow('k', 'l', 1)[3]).toBe(0)
      decider.decideNow('k', 'r', 3)
      now += 1
      for (let i = 0; i < 3; i++) expect(decider.decideNow('k', 'l', 1)[3]).toBe(1)
      expect(decider.decideNow('k', 'l', 1)[3]).toBe(0)
    })

    it(`${algorithm}: a cost above the capacity is never allowed, and says so`, () => {
      const decider = new MemoryDecider([rule(algorithm)], { maxKeys: 10 })
      const reply = decider.decideNow('k', 'l', LIMIT + 1)
      expect(reply[3]).toBe(0)
      expect(reply[6]).toBe(-1)
    })
  }

  it('several rules: a request denied by one is counted by none', () => {
    let now = 1_700_000_000_000_000
    const rules = [
      parseRule({ name: 'burst', algorithm: 'token-bucket', limit: 2, window: 1000 }),
      parseRule({ name: 'daily', algorithm: 'fixed-window', limit: 5, window: '1d' }),
    ]
    const decider = new MemoryDecider(rules, { maxKeys: 10, nowUs: () => now })
    let allowed = 0
    let deniedByBurstOnly = 0
    for (let i = 0; i < 12; i++) {
      const reply = decider.decideNow('k', 'l', 1)
      const burstOk = reply[3] === 1
      const dailyOk = reply[7] === 1
      if (burstOk && dailyOk) allowed++
      if (!burstOk && dailyOk) deniedByBurstOnly++
      // The day's count is exactly what was allowed: denials by the burst rule took nothing from it.
      expect(decider.decideNow('k', 'p', 0)[8]).toBe(5 - allowed)
      now += 150_000
    }
    expect(allowed).toBe(5)
    expect(deniedByBurstOnly).toBeGreaterThan(0)
  })
})

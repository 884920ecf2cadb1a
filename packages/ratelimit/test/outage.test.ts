import { createRedis } from '@cachekit/redis'
import { type RedisServerHandle, startStandalone } from '@cachekit/redis-harness'
import { Redis } from 'ioredis'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  createRateLimiter,
  type DecisionSource,
  type RateLimiter,
  type RateLimiterOptions,
  type RateLimitResult,
} from '../src/index.js'
import type { RedisRateLimiterOptions } from '../src/options.js'
import { onCleanup, uniquePrefix } from './helpers.js'

// A server of our own, killed, frozen and filled. Every call is timed: none may wait longer than
// the limiter's timeout (plus the event loop's slack on a loaded 2-core machine).

const TIMEOUT_MS = 300
const SLACK_MS = 150

let server: RedisServerHandle
beforeAll(async () => {
  server = await startStandalone()
})
afterAll(async () => {
  await server?.stop()
})

function limiterOn(options: Partial<RedisRateLimiterOptions> & Pick<RedisRateLimiterOptions, 'onRedisDown'>) {
  const client = createRedis({ url: server.url, connectTimeout: 200 })
  const limiter = createRateLimiter({
    client,
    prefix: uniquePrefix(),
    timeout: TIMEOUT_MS,
    retryInterval: '200ms',
    algorithm: 'fixed-window',
    limit: 20,
    window: '1m',
    ...options,
  } as RateLimiterOptions)
  onCleanup(() => limiter.close())
  return limiter
}

interface Timed {
  result: RateLimitResult
  ms: number
  key?: string
  phase?: string
}

/** `callers` concurrent loops until `stop()` says so; every call timed; a rejection fails the test. */
function load(limiter: RateLimiter, callers: number, phase: () => string, keyOf: (i: number) => string) {
  const calls: Timed[] = []
  const errors: unknown[] = []
  const done = Promise.all(
    Array.from({ length: callers }, async (_, caller) => {
      for (let n = 0; n < 5000 && phase() !== 'stop'; n++) {
        const started = performance.now()
        const startedIn = phase()
        try {
          const key = keyOf(caller)
          const result = await limiter.limit(key)
          calls.push({
            result,
            ms: performance.now() - started,
            key,
            phase: startedIn === phase() ? startedIn : 'between',
          })
        } catch (error) {
          errors.push(error)
        }
        await new Promise((resolve) => setImmediate(resolve))
      }
    }),
  )
  return { calls, errors, done }
}

const sources = (calls: Timed[]) => new Set<DecisionSource>(calls.map((c) => c.result.source))
const waitFor = (limiter: RateLimiter, event: 'up' | 'down') =>
  new Promise<void>((resolve) => limiter.once(event, () => resolve()))

describe('when Redis is down', () => {
  it('SIGKILL under load: the insurance limiter decides, no caller fails or waits past the timeout, then Redis again', async () => {
    const limiter = limiterOn({ onRedisDown: 'insurance', insurance: { expectedProcesses: 2 } })
    await limiter.limit('warm-up')
    let phase: 'before' | 'down' | 'after' | 'stop' = 'before'
    const run = load(
      limiter,
      64,
      () => phase,
      (i) => `client:${i % 8}`,
    )
    try {
      await new Promise((resolve) => setTimeout(resolve, 150))
      const down = waitFor(limiter, 'down')
      phase = 'down'
      await server.kill()
      await down
      await new Promise((resolve) => setTimeout(resolve, 400))
      const up = waitFor(limiter, 'up')
      await server.restart()
      await up
      phase = 'after'
      await new Promise((resolve) => setTimeout(resolve, 150))
    } finally {
      phase = 'stop'
      await run.done
    }
    // By the phase each call ran in (calls in flight at a change are in neither).
    const byPhase = {
      before: run.calls.filter((c) => c.phase === 'before'),
      down: run.calls.filter((c) => c.phase === 'down'),
      after: run.calls.filter((c) => c.phase === 'after'),
    }
    expect(run.errors).toEqual([])
    expect(sources(byPhase.before)).toEqual(new Set(['redis']))
    expect(sources(byPhase.down).has('insurance')).toBe(true)
    expect(sources(byPhase.after)).toEqual(new Set(['redis']))
    const all = [...byPhase.before, ...byPhase.down, ...byPhase.after]
    expect(all.reduce((worst, c) => Math.max(worst, c.ms), 0)).toBeLessThan(TIMEOUT_MS + SLACK_MS)
    // The insurance limit is the rule's, divided by the expected processes: 10 per key here.
    const insured = run.calls.filter((c) => c.result.source === 'insurance')
    expect(insured.every((c) => c.result.limit === 10)).toBe(true)
    const allowedPerKey = new Map<string, number>()
    for (const c of insured)
      if (c.result.allowed) allowedPerKey.set(c.key!, (allowedPerKey.get(c.key!) ?? 0) + 1)
    expect(allowedPerKey.size).toBe(8)
    for (const allowed of allowedPerKey.values()) expect(allowed).toBe(10)
  }, 30_000)

  it('SIGSTOP: a frozen server costs one timeout, then the fallback decides at once until it thaws', async () => {
    const limiter = limiterOn({ onRedisDown: 'fail-closed' })
    await limiter.limit('k')
    await server.freeze()
    let first: Timed
    const later: Timed[] = []
    try {
      const started = performance.now()
      const concurrent = await Promise.all(Array.from({ length: 32 }, () => limiter.limit('k')))
      first = { result: concurrent[0]!, ms: performance.now() - started }
      expect(concurrent.every((r) => r.source === 'fail-closed' && !r.allowed)).toBe(true)
      for (let i = 0; i < 20; i++) {
        const t = performance.now()
        later.push({ result: await limiter.limit('k'), ms: performance.now() - t })
      }
    } finally {
      await server.thaw()
    }
    expect(first.ms).toBeGreaterThanOrEqual(TIMEOUT_MS - 5)
    expect(first.ms).toBeLessThan(TIMEOUT_MS + SLACK_MS)
    // While it cools down, no call waits on the frozen server.
    expect(later.every((c) => c.ms < 50 && c.result.source === 'fail-closed')).toBe(true)
    expect(first.result.retryAfterMs).toBe(200)
    // After the retry interval one call probes, and Redis decides again.
    await new Promise((resolve) => setTimeout(resolve, 250))
    let back: RateLimitResult | undefined
    for (let i = 0; i < 20 && back?.source !== 'redis'; i++) {
      back = await limiter.limit('k')
      if (back.source !== 'redis') await new Promise((resolve) => setTimeout(resolve, 100))
    }
    expect(back?.source).toBe('redis')
  }, 30_000)

  it('fail-open allows uncounted while the server is gone; fail-closed denies; both say so', async () => {
    const open = limiterOn({ onRedisDown: 'fail-open' })
    const closed = limiterOn({ onRedisDown: 'fail-closed' })
    await Promise.all([open.limit('k'), closed.limit('k')])
    await server.kill()
    try {
      const [a, b] = await Promise.all([open.limit('k'), closed.limit('k')])
      expect(a).toMatchObject({ allowed: true, source: 'fail-open', remaining: 20 })
      expect(b).toMatchObject({ allowed: false, source: 'fail-closed', retryAfterMs: 200 })
    } finally {
      await server.restart()
    }
  }, 30_000)

  it('a full server (maxmemory, noeviction): the fallback decides and the failure names OOM', async () => {
    await using full = await startStandalone({
      args: ['--maxmemory', '2mb', '--maxmemory-policy', 'noeviction'],
    })
    const filler = new Redis(full.url)
    onCleanup(() => filler.quit())
    const chunk = 'x'.repeat(64 * 1024)
    for (let i = 0; i < 200; i++) {
      const ok = await filler.set(`fill:${i}`, chunk).then(
        () => true,
        () => false,
      )
      if (!ok) break
    }
    const limiter = createRateLimiter({
      client: createRedis(full.url),
      prefix: 'full:',
      onRedisDown: 'insurance',
      timeout: TIMEOUT_MS,
      algorithm: 'gcra',
      limit: 5,
      window: '1m',
    })
    onCleanup(() => limiter.close())
    const failures: string[] = []
    limiter.on('failure', ({ error }) => failures.push(String((error.cause as Error | undefined)?.message)))
    const result = await limiter.limit('k')
    expect(result).toMatchObject({ allowed: true, source: 'insurance', limit: 5 })
    expect(failures[0]).toMatch(/OOM/)
  }, 30_000)
})

import { CacheError, type Duration } from '@cachekit/core'
import { requireTopology } from '@cachekit/redis-harness'
import { Redis } from 'ioredis'
import { describe, expect, inject, it } from 'vitest'
import { createRateLimiter, type RateLimitResult } from '../src/index.js'
import { hashTag } from '../src/redis/redis_decider.js'
import { type Backend, backends, limiterOn, onCleanup, redisClient, sleep } from './helpers.js'

const ALGORITHMS = ['fixed-window', 'sliding-window', 'sliding-log', 'token-bucket', 'gcra'] as const

async function drain(limit: (key: string) => Promise<RateLimitResult>, key: string, n: number) {
  const results: RateLimitResult[] = []
  for (let i = 0; i < n; i++) results.push(await limit(key))
  return results
}

describe.each([...backends, 'sentinel'] as Backend[])('on %s', (backend) => {
  for (const algorithm of ALGORITHMS) {
    it(`${algorithm}: counts down to the limit, then denies, counting nothing, until it may retry`, async () => {
      const limiter = limiterOn(backend, { algorithm, limit: 5, window: '400ms' })
      const results = await drain((key) => limiter.limit(key), 'user:1', 7)
      expect(results.map((r) => r.allowed)).toEqual([true, true, true, true, true, false, false])
      expect(results.slice(0, 5).map((r) => r.remaining)).toEqual([4, 3, 2, 1, 0])
      const denied = results[5]!
      expect(denied).toMatchObject({
        limit: 5,
        remaining: 0,
        policy: '5-in-400ms',
        source: backend === 'memory' ? 'memory' : 'redis',
      })
      expect(denied.retryAfterMs).toBeGreaterThan(0)
      // The weighted window may have to wait for the next window, and part of it.
      expect(denied.retryAfterMs).toBeLessThanOrEqual(algorithm === 'sliding-window' ? 800 : 400)
      expect(denied.resetMs).toBeLessThanOrEqual(800)
      expect((await limiter.peek('user:1')).remaining).toBe(0)
      // Another key is untouched.
      expect((await limiter.peek('user:2')).remaining).toBe(5)
      await sleep(denied.retryAfterMs + 5)
      expect((await limiter.limit('user:1')).allowed).toBe(true)
    })

    it(`${algorithm}: refund, reset, block and a cost above the capacity`, async () => {
      const limiter = limiterOn(backend, { algorithm, limit: 3, window: '1m' })
      await drain((key) => limiter.limit(key), 'k', 3)
      expect((await limiter.limit('k')).allowed).toBe(false)
      await limiter.refund('k')
      const again = await limiter.limit('k')
      expect(again.allowed).toBe(true)
      expect(again.remaining).toBe(0)
      await limiter.reset('k')
      expect((await limiter.peek('k')).remaining).toBe(3)

      await limiter.block('k', '300ms')
      const blocked = await limiter.limit('k')
      expect(blocked).toMatchObject({ allowed: false, source: 'blocked' })
      expect(blocked.retryAfterMs).toBeGreaterThan(200)
      expect(blocked.retryAfterMs).toBeLessThanOrEqual(300)

      const tooBig = await limiter.limit('other', { cost: 4 })
      expect(tooBig.allowed).toBe(false)
      expect(tooBig.retryAfterMs).toBe(Number.POSITIVE_INFINITY)
      expect((await limiter.peek('other')).remaining).toBe(3)
      expect((await limiter.limit('other', { cost: 3 })).allowed).toBe(true)
    })
  }

  it('several rules: the most restrictive decides, every one is reported, a denial counts in none', async () => {
    const limiter = limiterOn(backend, {
      rules: [
        { name: 'burst', algorithm: 'token-bucket', limit: 2, window: '1s' },
        { name: 'daily', algorithm: 'fixed-window', limit: 100, window: '1d' },
      ],
    })
    const [first, second, third] = await drain((key) => limiter.limit(key), 'u', 3)
    expect(first!.rules.map((r) => [r.name, r.remaining])).toEqual([
      ['burst', 1],
      ['daily', 99],
    ])
    expect(second).toMatchObject({ allowed: true, policy: 'burst', remaining: 0 })
    expect(third).toMatchObject({ allowed: false, policy: 'burst' })
    expect(third!.rules.map((r) => r.allowed)).toEqual([false, true])
    // The denied third request took nothing from the day.
    expect((await limiter.peek('u')).rules[1]!.remaining).toBe(98)
  })

  it('rejects bad input with a typed error, and a denial is never a rejection', async () => {
    const limiter = limiterOn(backend, { algorithm: 'fixed-window', limit: 1, window: '1m' })
    for (const bad of ['', 'x'.repeat(1025)])
      await expect(limiter.limit(bad)).rejects.toSatisfy((e) => CacheError.hasCode(e, 'E_INVALID_OPTION'))
    await expect(limiter.limit('k', { cost: -1 })).rejects.toSatisfy((e) =>
      CacheError.hasCode(e, 'E_INVALID_OPTION'),
    )
    await expect(limiter.limit('k', { cost: 1.5 })).rejects.toSatisfy((e) =>
      CacheError.hasCode(e, 'E_INVALID_OPTION'),
    )
    await expect(limiter.block('k', '0ms')).rejects.toSatisfy((e) =>
      CacheError.hasCode(e, 'E_INVALID_OPTION'),
    )
    await limiter.limit('k')
    await expect(limiter.limit('k')).resolves.toMatchObject({ allowed: false })
  })

  it('keys with braces, percents and globs stay apart and in one slot', async () => {
    const limiter = limiterOn(backend, {
      rules: [
        { name: 'a', algorithm: 'sliding-log', limit: 1, window: '1m' },
        { name: 'b', algorithm: 'gcra', limit: 1, window: '1m' },
      ],
    })
    const keys = ['}', '{', '}{', 'a}', 'a%7D', '%', '*', 'user:*', '{user}:1', 'ü']
    for (const key of keys) expect((await limiter.limit(key)).allowed, key).toBe(true)
    for (const key of keys) expect((await limiter.limit(key)).allowed, key).toBe(false)
  })
})

describe('only on Redis', () => {
  it('a local block denies a known-limited key with no Redis call, until it may retry', async () => {
    const server = requireTopology(inject('redis'), 'standalone')
    const admin = new Redis(server.url)
    onCleanup(() => admin.quit())
    const limiter = limiterOn(
      'standalone',
      { algorithm: 'fixed-window', limit: 2, window: '300ms' },
      { localBlock: true },
    )
    await drain((key) => limiter.limit(key), 'hot', 3)
    const calls = async () => {
      const stats = await admin.info('commandstats')
      return Number(/cmdstat_evalsha:calls=(\d+)/.exec(stats)?.[1] ?? 0)
    }
    const before = await calls()
    const blocked = await drain((key) => limiter.limit(key), 'hot', 100)
    expect(blocked.every((r) => !r.allowed && r.source === 'local-block')).toBe(true)
    expect(await calls()).toBe(before)
    await sleep(blocked.at(-1)!.retryAfterMs + 5)
    const after = await limiter.limit('hot')
    expect(after).toMatchObject({ allowed: true, source: 'redis' })
  })

  it('state that is not ours (garbage, a wrong type) is dropped, never trusted; garbage is reported', async () => {
    const client = redisClient('standalone')
    const prefix = `corrupt${Date.now()}:`
    const limiter = createRateLimiter({
      client,
      closeClient: false,
      prefix,
      onRedisDown: 'fail-closed',
      rules: [
        { name: 'fw', algorithm: 'fixed-window', limit: 3, window: '1m' },
        { name: 'sw', algorithm: 'sliding-window', limit: 3, window: '1m' },
        { name: 'sl', algorithm: 'sliding-log', limit: 3, window: '1m' },
        { name: 'tb', algorithm: 'token-bucket', limit: 3, window: '1m' },
        { name: 'gc', algorithm: 'gcra', limit: 3, window: '1m' },
      ],
    })
    onCleanup(() => limiter.close())
    const reports: string[][] = []
    limiter.on('corrupt', ({ rules }) => reports.push(rules))
    const keyOf = async (rule: string, user: string) => `${prefix}${rule}:${hashTag(user)}`
    // Let the limiter write good state, then spoil it: garbage, a flipped digit separator, a wrong type.
    await limiter.limit('victim')
    const spoiled: Record<string, (k: string) => Promise<unknown>> = {
      fw: (k) => client.set(k, 'not a number', 'PX', 60_000),
      sw: (k) => client.set(k, '1:x:0', 'PX', 60_000),
      sl: (k) => client.del(k).then(() => client.set(k, 'a string, not a sorted set')),
      tb: (k) => client.set(k, '2.5;1700000000000000', 'PX', 60_000),
      gc: (k) => client.set(k, '17000000000000000000000x', 'PX', 60_000),
    }
    for (const [rule, spoil] of Object.entries(spoiled)) await spoil((await keyOf(rule, 'victim'))!)
    const result = await limiter.limit('victim')
    expect(result).toMatchObject({ allowed: true, source: 'redis' })
    expect(result.rules.map((r) => r.remaining)).toEqual([2, 2, 2, 2, 2])
    expect(reports).toEqual([['fw', 'sw', 'sl', 'tb', 'gc']])
    // The dropped state was replaced by good state: the next decision is clean.
    expect((await limiter.limit('victim')).rules.map((r) => r.remaining)).toEqual([1, 1, 1, 1, 1])
    expect(reports).toHaveLength(1)

    // A key of another type where a string state belongs is replaced by the next write.
    await limiter.limit('other')
    for (const rule of ['fw', 'sw', 'tb', 'gc']) {
      const k = (await keyOf(rule, 'other'))!
      await client.del(k)
      await client.hset(k, 'count', '0')
    }
    const replaced = await limiter.limit('other')
    expect(replaced.rules.map((r) => r.remaining)).toEqual([2, 2, 1, 2, 2])
    expect(await client.type((await keyOf('fw', 'other'))!)).toBe('string')
  })

  it('a server that lost the script (SCRIPT FLUSH) gets it again, with no failure', async () => {
    const client = redisClient('standalone')
    const limiter = createRateLimiter({
      client,
      closeClient: false,
      prefix: `flush${Date.now()}:`,
      onRedisDown: 'fail-closed',
      algorithm: 'gcra',
      limit: 100,
      window: '1m',
    })
    onCleanup(() => limiter.close())
    const failures: unknown[] = []
    limiter.on('failure', (failure) => failures.push(failure))
    await limiter.limit('k')
    await client.script('FLUSH')
    const results = await Promise.all(Array.from({ length: 20 }, () => limiter.limit('k')))
    expect(results.every((r) => r.allowed && r.source === 'redis')).toBe(true)
    expect(results.map((r) => r.remaining).sort((a, b) => b - a)).toEqual(
      Array.from({ length: 20 }, (_, i) => 98 - i),
    )
    expect(failures).toEqual([])
  })
})

describe('options are checked where given', () => {
  const client = {} as Redis
  const cases: Array<[string, () => unknown]> = [
    [
      'unknown algorithm',
      () => createRateLimiter({ memory: true, algorithm: 'leaky' as 'gcra', limit: 1, window: 1 }),
    ],
    ['limit 0', () => createRateLimiter({ memory: true, algorithm: 'gcra', limit: 0, window: 1 })],
    [
      'window text',
      () => createRateLimiter({ memory: true, algorithm: 'gcra', limit: 1, window: 'soon' as Duration }),
    ],
    ['burst 0', () => createRateLimiter({ memory: true, algorithm: 'gcra', limit: 1, window: 1, burst: 0 })],
    [
      'bad name',
      () => createRateLimiter({ memory: true, algorithm: 'gcra', limit: 1, window: 1, name: 'a b' }),
    ],
    ['no onRedisDown', () => createRateLimiter({ client, algorithm: 'gcra', limit: 1, window: 1 } as never)],
    ['no rules', () => createRateLimiter({ memory: true, rules: [] })],
    [
      'duplicate names',
      () =>
        createRateLimiter({
          memory: true,
          rules: [
            { algorithm: 'gcra', limit: 1, window: 1 },
            { algorithm: 'gcra', limit: 1, window: 1 },
          ],
        }),
    ],
    [
      'prefix with a brace',
      () =>
        createRateLimiter({
          client,
          onRedisDown: 'fail-open',
          prefix: '{x}',
          algorithm: 'gcra',
          limit: 1,
          window: 1,
        }),
    ],
    [
      'huge sliding log',
      () => createRateLimiter({ memory: true, algorithm: 'sliding-log', limit: 1e6, window: 1 }),
    ],
  ]
  for (const [name, make] of cases)
    it(name, () => {
      const code = name === 'window text' ? 'E_INVALID_DURATION' : 'E_INVALID_OPTION'
      expect(make).toThrow(expect.objectContaining({ code }))
    })
})

import { createRedis } from '@cachekit/redis'
import { requireTopology } from '@cachekit/redis-harness'
import type { Cluster, Redis } from 'ioredis'
import { afterEach, inject } from 'vitest'
import { createRateLimiter, type RateLimiter, type RuleOptions } from '../src/index.js'
import type { CommonRateLimiterOptions, RedisRateLimiterOptions } from '../src/options.js'

/** Everything a test opened, closed after it whatever happened. */
const closers: Array<() => Promise<unknown>> = []
afterEach(async () => {
  for (const close of closers.splice(0).reverse()) await close().catch(() => undefined)
})

export function onCleanup(close: () => Promise<unknown>): void {
  closers.push(close)
}

export type Backend = 'memory' | 'standalone' | 'cluster' | 'sentinel'
export const backends: Backend[] = ['memory', 'standalone', 'cluster']

export function redisClient(backend: Exclude<Backend, 'memory'>): Redis | Cluster {
  const provided = inject('redis')
  const client =
    backend === 'standalone'
      ? createRedis(requireTopology(provided, 'standalone').url)
      : backend === 'cluster'
        ? createRedis({ cluster: requireTopology(provided, 'cluster').startupNodes })
        : createRedis({
            sentinels: requireTopology(provided, 'sentinel').sentinels,
            name: requireTopology(provided, 'sentinel').masterName,
          })
  onCleanup(async () => {
    if (client.status !== 'end') await client.quit().catch(() => client.disconnect())
  })
  return client
}

let prefixes = 0
/** A prefix no other test uses, so tests on one server never see each other's keys. */
export function uniquePrefix(): string {
  return `t${process.pid}-${Date.now().toString(36)}-${prefixes++}:`
}

type Rules = RuleOptions | { rules: RuleOptions[] }
type Extra = CommonRateLimiterOptions & Partial<Omit<RedisRateLimiterOptions, 'client' | 'memory'>>

/** A limiter on `backend`, closed after the test. */
export function limiterOn(backend: Backend, rules: Rules, extra: Extra = {}): RateLimiter {
  const limiter =
    backend === 'memory'
      ? createRateLimiter({ ...rules, ...extra, memory: true } as Parameters<typeof createRateLimiter>[0])
      : createRateLimiter({
          prefix: uniquePrefix(),
          onRedisDown: 'insurance',
          ...rules,
          ...extra,
          client: redisClient(backend),
          closeClient: false,
        } as Parameters<typeof createRateLimiter>[0])
  onCleanup(() => limiter.close())
  return limiter
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))

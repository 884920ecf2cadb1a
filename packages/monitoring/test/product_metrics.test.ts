import { CacheError } from '@cachekit/core'
import { createRateLimiter } from '@cachekit/ratelimit'
import { createRedis } from '@cachekit/redis'
import { startStandalone } from '@cachekit/redis-harness'
import { createSessions } from '@cachekit/sessions'
import { Registry } from 'prom-client'
import { describe, expect, it } from 'vitest'
import { MetricsRegistrationError, rateLimitMetrics, sessionMetrics } from '../src/index.js'
import { promtoolCheck, sampleValue, seriesOf } from './support/scrape.js'

describe('rateLimitMetrics', () => {
  it('counts decisions by rule, result and source, and follows an outage of its Redis', async () => {
    await using server = await startStandalone()
    const registry = new Registry()
    const limiter = createRateLimiter({
      client: createRedis({ url: server.url, connectTimeout: 200 }),
      onRedisDown: 'insurance',
      timeout: '300ms',
      algorithm: 'fixed-window',
      limit: 3,
      window: '1m',
      name: 'login',
      localBlock: true,
    })
    const other = createRateLimiter({ memory: true, algorithm: 'gcra', limit: 1, window: '1m' })
    const metrics = rateLimitMetrics(limiter, { registry, name: 'login' })
    rateLimitMetrics(other, { registry, name: 'other' })
    try {
      for (let i = 0; i < 5; i++) await limiter.limit('user:1')
      await other.limit('x')
      const decisions = (labels: Record<string, string>) =>
        sampleValue(registry, 'cachekit_ratelimit_decisions_total', { limiter: 'login', ...labels })
      expect(await decisions({ policy: 'login', result: 'allowed', source: 'redis' })).toBe(3)
      expect(await decisions({ policy: 'login', result: 'denied', source: 'redis' })).toBe(1)
      expect(await decisions({ policy: 'login', result: 'denied', source: 'local-block' })).toBe(1)
      expect(
        await sampleValue(registry, 'cachekit_ratelimit_decisions_total', {
          limiter: 'other',
          result: 'allowed',
        }),
      ).toBe(1)
      expect(await sampleValue(registry, 'cachekit_ratelimit_redis_down', { limiter: 'login' })).toBe(0)

      const down = new Promise((resolve) => limiter.once('down', resolve))
      await server.kill()
      await limiter.limit('user:2')
      await down
      await limiter.limit('user:2')
      expect(await sampleValue(registry, 'cachekit_ratelimit_redis_down', { limiter: 'login' })).toBe(1)
      expect(
        await decisions({ policy: 'login', result: 'allowed', source: 'insurance' }),
      ).toBeGreaterThanOrEqual(1)
      const up = new Promise((resolve) => limiter.once('up', resolve))
      await server.restart()
      await up
      expect(await sampleValue(registry, 'cachekit_ratelimit_redis_down', { limiter: 'login' })).toBe(0)

      expect(await promtoolCheck(await registry.metrics())).toEqual({ code: 0, output: '' })
      // The same name twice is a typed error; closing frees it and removes its series.
      expect(() => rateLimitMetrics(limiter, { registry, name: 'login' })).toThrow(MetricsRegistrationError)
      metrics.close()
      const left = await seriesOf(registry, 'cachekit_ratelimit_decisions_total')
      expect(left.map((s) => s.labels.limiter)).toEqual(['other'])
      rateLimitMetrics(limiter, { registry, name: 'login' }).close()
    } finally {
      await limiter.close()
      await other.close()
    }
  }, 30_000)
})

describe('sessionMetrics', () => {
  it('counts session events with their reasons and reads the live count at scrape', async () => {
    const registry = new Registry()
    const sessions = createSessions({ memory: true })
    const metrics = sessionMetrics(sessions, { registry })
    try {
      const a = await sessions.create('u1', { role: 'admin' })
      const b = await sessions.create('u1', {})
      await sessions.create('u2', {})
      await sessions.destroy(a.id)
      await sessions.regenerate(b.id)
      const events = (labels: Record<string, string>) =>
        sampleValue(registry, 'cachekit_sessions_events_total', { sessions: 'default', ...labels })
      // A regenerate destroys one session and creates another.
      expect(await events({ event: 'created', reason: '' })).toBe(4)
      expect(await events({ event: 'destroyed', reason: 'destroy' })).toBe(1)
      expect(await events({ event: 'destroyed', reason: 'regenerated' })).toBe(1)
      expect(await sampleValue(registry, 'cachekit_sessions_active', { sessions: 'default' })).toBe(2)
      expect(await promtoolCheck(await registry.metrics())).toEqual({ code: 0, output: '' })
      let caught: unknown
      try {
        sessionMetrics(sessions, { registry })
      } catch (error) {
        caught = error
      }
      expect(CacheError.hasCode(caught, 'E_INVALID_OPTION')).toBe(true)
    } finally {
      metrics.close()
      await sessions.close()
    }
  })
})

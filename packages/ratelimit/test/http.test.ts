import type { AddressInfo } from 'node:net'
import express from 'express'
import { rateLimit } from 'express-rate-limit'
import Fastify from 'fastify'
import { parseList } from 'structured-headers'
import { describe, expect, it } from 'vitest'
import {
  expressRateLimit,
  expressRateLimitStore,
  fastifyRateLimit,
  QUOTA_EXCEEDED_TYPE,
  type RateLimiter,
  type RateLimitResult,
  type RuleOptions,
  rateLimitHeaders,
} from '../src/index.js'
import { type Backend, limiterOn, onCleanup } from './helpers.js'

/** A parsed `RateLimit-Policy` or `RateLimit` field: each item's name and parameters. */
function fieldItems(value: string | null): Array<[string, Record<string, unknown>]> {
  expect(value).not.toBeNull()
  return parseList(value!).map((member) => {
    const [bare, params] = member as [unknown, Map<string, unknown>]
    expect(typeof bare).toBe('string')
    return [bare as string, Object.fromEntries(params)]
  })
}

describe('the RateLimit header fields (draft-ietf-httpapi-ratelimit-headers-12)', () => {
  const result: RateLimitResult = {
    allowed: true,
    limit: 100,
    remaining: 50,
    resetMs: 30_000,
    retryAfterMs: 0,
    policy: 'burst',
    source: 'redis',
    decidedAt: 1_700_000_000_000,
    rules: [
      {
        name: 'burst',
        algorithm: 'fixed-window',
        allowed: true,
        limit: 100,
        windowMs: 60_000,
        remaining: 50,
        resetMs: 30_000,
        retryAfterMs: 0,
      },
      {
        name: 'daily',
        algorithm: 'fixed-window',
        allowed: true,
        limit: 1000,
        windowMs: 86_400_000,
        remaining: 999,
        resetMs: 86_400_000,
        retryAfterMs: 0,
      },
    ],
  }

  it('writes the draft examples, as Structured Field Lists', () => {
    const headers = rateLimitHeaders(result)
    // The draft's own examples: "burst";q=100;w=60,"daily";q=1000;w=86400 and "default";r=50;t=30.
    expect(fieldItems(headers['RateLimit-Policy']!)).toEqual([
      ['burst', { q: 100, w: 60 }],
      ['daily', { q: 1000, w: 86400 }],
    ])
    expect(fieldItems(headers.RateLimit!)).toEqual([
      ['burst', { r: 50, t: 30 }],
      ['daily', { r: 999, t: 86400 }],
    ])
    expect(headers['Retry-After']).toBeUndefined()
    expect(headers['X-RateLimit-Limit']).toBeUndefined()
  })

  it('adds the legacy fields on request, and Retry-After on a denial', () => {
    const denied = { ...result, allowed: false, remaining: 0, retryAfterMs: 1500 }
    const headers = rateLimitHeaders(denied, { legacy: true })
    expect(headers).toMatchObject({
      'X-RateLimit-Limit': '100',
      'X-RateLimit-Remaining': '0',
      'X-RateLimit-Reset': String(Math.ceil((1_700_000_000_000 + 30_000) / 1000)),
      'Retry-After': '2',
    })
    expect(
      rateLimitHeaders({ ...denied, retryAfterMs: Number.POSITIVE_INFINITY })['Retry-After'],
    ).toBeUndefined()
  })
})

async function listen(app: { listen: (port: number, host: string, cb: () => void) => unknown } & object) {
  return new Promise<string>((resolve) => {
    const server = (app as express.Express).listen(0, '127.0.0.1', () => {
      resolve(`http://127.0.0.1:${(server.address() as AddressInfo).port}`)
    })
    onCleanup(() => new Promise((done) => server.close(done)))
  })
}

async function fastifyApp(limiter: RateLimiter): Promise<string> {
  const app = Fastify()
  app.addHook('onRequest', fastifyRateLimit(limiter, { key: 'ip+route' }))
  app.get('/items/:id', async () => ({ ok: true }))
  onCleanup(() => app.close())
  return app.listen({ port: 0, host: '127.0.0.1' })
}

async function expressApp(limiter: RateLimiter): Promise<string> {
  const app = express()
  app.use(expressRateLimit(limiter))
  app.get('/items/:id', (_req, res) => {
    res.json({ ok: true, remaining: (res.locals.rateLimit as RateLimitResult).remaining })
  })
  return listen(app)
}

const rules: { rules: RuleOptions[] } = {
  rules: [
    { name: 'burst', algorithm: 'token-bucket', limit: 2, window: '1m' },
    { name: 'daily', algorithm: 'fixed-window', limit: 100, window: '1d' },
  ],
}

describe.each(['memory', 'standalone', 'cluster'] as Backend[])('over HTTP on %s', (backend) => {
  for (const [framework, start] of [
    ['express 5', expressApp],
    ['fastify 5', fastifyApp],
  ] as const)
    it(`${framework}: headers on every response, then 429 with Retry-After and a problem+json body`, async () => {
      const base = await start(limiterOn(backend, rules))
      const responses = []
      for (let i = 0; i < 3; i++) responses.push(await fetch(`${base}/items/${i}`))
      expect(responses.map((r) => r.status)).toEqual([200, 200, 429])
      expect(fieldItems(responses[0]!.headers.get('ratelimit-policy'))).toEqual([
        ['burst', { q: 2, w: 60 }],
        ['daily', { q: 100, w: 86400 }],
      ])
      expect(fieldItems(responses[1]!.headers.get('ratelimit')).map(([name, p]) => [name, p.r])).toEqual([
        ['burst', 0],
        ['daily', 98],
      ])
      const denied = responses[2]!
      expect(denied.headers.get('content-type')).toMatch(/^application\/problem\+json/)
      expect(Number(denied.headers.get('retry-after'))).toBeGreaterThanOrEqual(29)
      expect(Number(denied.headers.get('retry-after'))).toBeLessThanOrEqual(30)
      expect(await denied.json()).toMatchObject({
        type: QUOTA_EXCEEDED_TYPE,
        status: 429,
        'violated-policies': ['burst'],
      })
      // The denial took nothing from the day.
      expect(fieldItems(denied.headers.get('ratelimit')).map(([name, p]) => [name, p.r])).toEqual([
        ['burst', 0],
        ['daily', 98],
      ])
    })
})

describe('express-rate-limit with our store', () => {
  it('keeps its middleware and options; our limiter decides, on Redis', async () => {
    const limiter = limiterOn('standalone', { algorithm: 'sliding-window', limit: 3, window: '1m' })
    const app = express()
    app.use(
      rateLimit({
        store: expressRateLimitStore(limiter),
        limit: 3,
        windowMs: 60_000,
        standardHeaders: 'draft-8',
        legacyHeaders: false,
        skipFailedRequests: true,
        keyGenerator: () => 'client',
      }),
    )
    app.get('/ok', (_req, res) => {
      res.send('ok')
    })
    app.get('/fails', (_req, res) => {
      res.status(500).send('no')
    })
    const base = await listen(app)
    // Failed requests are given back (express-rate-limit calls `decrement`): they count for nothing.
    for (let i = 0; i < 4; i++) expect((await fetch(`${base}/fails`)).status).toBe(500)
    const statuses = []
    for (let i = 0; i < 4; i++) statuses.push((await fetch(`${base}/ok`)).status)
    expect(statuses).toEqual([200, 200, 200, 429])
    expect(await limiter.peek('client')).toMatchObject({ allowed: false, remaining: 0 })
  })

  it('refuses an express-rate-limit `limit` that is not the limiter’s', () => {
    const store = expressRateLimitStore(limiterOn('memory', { algorithm: 'gcra', limit: 3, window: '1m' }))
    expect(() => store.init({ limit: 5, windowMs: 60_000 })).toThrow(
      expect.objectContaining({ code: 'E_INVALID_OPTION' }),
    )
    expect(() => store.init({ limit: 3, windowMs: 60_000 })).not.toThrow()
  })
})

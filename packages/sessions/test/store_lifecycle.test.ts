import { describe, expect, it } from 'vitest'
import { RedisStore } from '../src/store/index.js'
import { redisClient, uniquePrefix } from './helpers.js'

// The lifecycle connect-redis' own test (index_test.ts, v9) runs against its store, step by step.
describe.each(['standalone', 'cluster', 'sentinel'] as const)(
  'RedisStore on %s: the connect-redis lifecycle',
  (backend) => {
    it('has connect-redis defaults', () => {
      const store = new RedisStore({ client: redisClient(backend) })
      expect(store.client).toBeDefined()
      expect(store.prefix).toBe('sess:')
      expect(store.ttl).toBe(86400)
      expect(store.scanCount).toBe(100)
      expect(store.serializer).toBe(JSON)
      expect(store.disableTouch).toBe(false)
      expect(store.disableTTL).toBe(false)
      expect(() => new RedisStore({} as never)).toThrow(expect.objectContaining({ code: 'E_INVALID_OPTION' }))
    })

    it('runs the lifecycle: TTLs from cookie.expires, touch, length, ids, all, destroy, clear, bulk, past expiry', async () => {
      const client = redisClient(backend)
      const prefix = uniquePrefix()
      const store = new RedisStore({ client, prefix })
      const key = (sid: string) => `${prefix}${sid}`

      await store.clear()
      await store.set('123', { foo: 'bar', cookie: { originalMaxAge: null } } as never)
      expect(await store.get('123')).toMatchObject({ foo: 'bar', cookie: { originalMaxAge: null } })
      expect(await client.ttl(key('123'))).toBeGreaterThanOrEqual(86399)

      const expires = new Date(Date.now() + 60_000)
      await store.set('456', { cookie: { originalMaxAge: null, expires } } as never)
      expect(await client.ttl(key('456'))).toBeLessThanOrEqual(60)

      await store.touch('456', {
        cookie: { originalMaxAge: null, expires: new Date(Date.now() + 90_000) },
      } as never)
      expect(await client.ttl(key('456'))).toBeGreaterThan(60)

      expect(await store.length()).toBe(2)
      expect((await store.ids()).sort()).toEqual(['123', '456'])
      const all = (await store.all()).sort((a, b) => a.id.localeCompare(b.id))
      expect(all).toEqual([
        { id: '123', foo: 'bar', cookie: { originalMaxAge: null } },
        { id: '456', cookie: { originalMaxAge: null, expires: expires.toISOString() } },
      ])

      await store.destroy('456')
      expect(await store.length()).toBe(1)
      await store.clear()
      expect(await store.length()).toBe(0)

      // Bulk: SCAN across pages (COUNT = scanCount), and on every master of a Cluster.
      const cookie = { originalMaxAge: null, expires: new Date(Date.now() + 1_000) }
      await Promise.all(Array.from({ length: 1000 }, (_, i) => store.set(`s${i}`, { cookie } as never)))
      expect(await store.length()).toBe(1000)
      await store.clear()
      expect(await store.length()).toBe(0)

      // A set with an expiry in the past deletes.
      await store.set('789', {
        cookie: { originalMaxAge: null, expires: new Date(Date.now() + 60_000) },
      } as never)
      expect(await store.length()).toBe(1)
      await store.set('789', {
        cookie: { originalMaxAge: null, expires: new Date(Date.now() - 60_000) },
      } as never)
      expect(await store.length()).toBe(0)
    })

    it('works with callbacks as with promises', async () => {
      const store = new RedisStore({ client: redisClient(backend), prefix: uniquePrefix() })
      const session = { n: 1, cookie: { originalMaxAge: null } } as never
      await new Promise<void>((resolve, reject) =>
        store.set('cb', session, (error) => (error ? reject(error) : resolve())),
      )
      const read = await new Promise((resolve, reject) =>
        store.get('cb', (error, value) => (error ? reject(error) : resolve(value))),
      )
      expect(read).toMatchObject({ n: 1 })
      const length = await new Promise((resolve) => store.length((_error, n) => resolve(n)))
      expect(length).toBe(1)
      await new Promise<void>((resolve) => store.destroy('cb', () => resolve()))
      expect(await store.get('cb')).toBeNull()
    })

    it('ttl as a function, disableTTL and disableTouch', async () => {
      const client = redisClient(backend)
      const prefix = uniquePrefix()
      const byFunction = new RedisStore({ client, prefix, ttl: () => 42 })
      await byFunction.set('f', {
        cookie: { originalMaxAge: null, expires: new Date(Date.now() + 600_000) },
      } as never)
      expect(await client.ttl(`${prefix}f`)).toBeLessThanOrEqual(42)
      const forever = new RedisStore({ client, prefix, disableTTL: true })
      await forever.set('p', { cookie: { originalMaxAge: null } } as never)
      expect(await client.ttl(`${prefix}p`)).toBe(-1)
      const noTouch = new RedisStore({ client, prefix, disableTouch: true, ttl: 100 })
      await noTouch.set('t', { cookie: { originalMaxAge: null } } as never)
      await noTouch.touch('t', {
        cookie: { originalMaxAge: null, expires: new Date(Date.now() + 900_000) },
      } as never)
      expect(await client.ttl(`${prefix}t`)).toBeLessThanOrEqual(100)
    })

    it('bytes that do not parse are no session and an event, not a failed request', async () => {
      const client = redisClient(backend)
      const prefix = uniquePrefix()
      const store = new RedisStore({ client, prefix })
      const tampered: unknown[] = []
      store.on('tamper', (event) => tampered.push(event))
      await store.set('x', { n: 1, cookie: { originalMaxAge: null } } as never)
      await client.hset(`${prefix}x`, 'n', '{not json')
      expect(await store.get('x')).toBeNull()
      expect(tampered).toHaveLength(1)
    })
  },
)

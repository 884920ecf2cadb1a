import session from 'express-session'
import { describe, expect, it } from 'vitest'
import { RedisStore } from '../src/store/index.js'
import { redisClient, uniquePrefix, until } from './helpers.js'
import { type App, Browser, expressApp, fastifyApp } from './http_apps.js'

const frameworks = [
  ['express 5 + express-session', expressApp],
  ['fastify 5 + @fastify/session', fastifyApp],
] as const

describe.each(['standalone', 'cluster'] as const)('RedisStore on %s', (backend) => {
  describe.each(frameworks)('%s', (_name, makeApp) => {
    async function setup(): Promise<{ app: App; store: RedisStore }> {
      const client = redisClient(backend)
      const store = new RedisStore({ client, prefix: uniquePrefix() })
      const app = await makeApp(store)
      // Until the client is connected, express-session serves requests without a session.
      await until(() => client.status === 'ready')
      return { app, store }
    }

    it('login, a read, regenerate on a privilege change, logout, and the old cookie refused', async () => {
      const { app } = await setup()
      const browser = new Browser(app.url)
      expect((await browser.request('GET', '/me')).body.user).toBeNull()
      await browser.request('POST', '/login')
      const loginCookie = browser.cookie
      expect((await browser.request('GET', '/me')).body).toMatchObject({ user: 'alice', role: 'reader' })

      await browser.request('POST', '/promote')
      expect(browser.cookie).not.toBe(loginCookie)
      expect((await browser.request('GET', '/me')).body).toMatchObject({ user: 'alice', role: 'admin' })
      // The cookie from before the privilege change no longer opens a session.
      const before = new Browser(app.url)
      before.cookie = loginCookie
      expect((await before.request('GET', '/me')).body.user).toBeNull()

      const promotedCookie = browser.cookie
      await browser.request('POST', '/logout')
      const old = new Browser(app.url)
      old.cookie = promotedCookie
      expect((await old.request('GET', '/me')).body.user).toBeNull()
    })

    it('a slow request finishing after logout does not bring the session back', async () => {
      const { app, store } = await setup()
      const refused: unknown[] = []
      store.on('refused', (event) => refused.push(event))
      const browser = new Browser(app.url)
      await browser.request('POST', '/login')
      const cookie = browser.cookie
      const slow = browser.request('POST', '/slow')
      await app.slowStarted // it has loaded the session
      await browser.request('POST', '/logout')
      app.slowGate.open()
      expect((await slow).status).toBe(200)
      const again = new Browser(app.url)
      again.cookie = cookie
      expect((await again.request('GET', '/me')).body).toMatchObject({ user: null, cart: null })
      expect(refused).toHaveLength(1)
      expect(await store.length()).toBe(0)
    })

    it('50 concurrent requests setting different fields all survive', async () => {
      const { app } = await setup()
      const browser = new Browser(app.url)
      await browser.request('POST', '/login')
      const fields = Array.from({ length: 50 }, (_, i) => `f${i}`)
      const responses = await Promise.all(fields.map((field) => browser.request('POST', `/field/${field}`)))
      for (const response of responses) expect(response.status).toBe(200)
      const me = (await browser.request('GET', '/me')).body
      expect(me.user).toBe('alice')
      const seen = me.fields as Record<string, unknown>
      for (const field of fields) expect(seen[field]).toBe(field)
    })
  })
})

// The control: the same app on a store that writes whole sessions (express-session's MemoryStore,
// as connect-redis does on Redis) shows both defects the tests above pin.
describe('a whole-session store (the defects RedisStore fixes)', () => {
  it('brings a session back after logout when a slow request saves after it', async () => {
    const app = await expressApp(new session.MemoryStore())
    const browser = new Browser(app.url)
    await browser.request('POST', '/login')
    const slow = browser.request('POST', '/slow')
    await app.slowStarted
    const cookie = browser.cookie
    await browser.request('POST', '/logout')
    app.slowGate.open()
    await slow
    const again = new Browser(app.url)
    again.cookie = cookie
    expect((await again.request('GET', '/me')).body.user).toBe('alice') // logged in again
  })

  it('loses fields when concurrent requests each save the whole session', async () => {
    const app = await expressApp(new session.MemoryStore())
    const browser = new Browser(app.url)
    await browser.request('POST', '/login')
    const fields = Array.from({ length: 50 }, (_, i) => `f${i}`)
    await Promise.all(fields.map((field) => browser.request('POST', `/field/${field}`)))
    const seen = (await browser.request('GET', '/me')).body.fields as Record<string, unknown>
    expect(fields.filter((field) => seen[field] === field).length).toBeLessThan(50)
  })
})

import { createRedis } from '@cachekit/redis'
import { type RedisServerHandle, startStandalone } from '@cachekit/redis-harness'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { RedisStore } from '../src/store/index.js'
import { onCleanup, uniquePrefix, until } from './helpers.js'
import { Browser, expressApp, fastifyApp } from './http_apps.js'

// A server of its own: this file kills it.
let server: RedisServerHandle
beforeAll(async () => {
  server = await startStandalone()
})
afterAll(async () => {
  await server?.stop()
})

describe.each([
  ['express 5 + express-session', expressApp],
  ['fastify 5 + @fastify/session', fastifyApp],
] as const)('%s with Redis SIGKILLed', (_name, makeApp) => {
  it('requests complete without a session, within the timeout, and sessions work again after the restart', async () => {
    const client = createRedis(server.url)
    onCleanup(async () => client.disconnect())
    const store = new RedisStore({ client, prefix: uniquePrefix(), timeout: '300ms' })
    const events: string[] = []
    store.on('disconnect', () => events.push('disconnect'))
    store.on('connect', () => events.push('connect'))
    const app = await makeApp(store)
    await until(() => client.status === 'ready')
    const browser = new Browser(app.url)
    await browser.request('POST', '/login')
    expect((await browser.request('GET', '/me')).body.user).toBe('alice')

    await server.kill()
    for (let i = 0; i < 3; i++) {
      const started = performance.now()
      const response = await browser.request('GET', '/me')
      expect(response.status).toBe(200)
      expect(response.body.user).toBeNull()
      // Far from a hang: at most about one timeout.
      expect(performance.now() - started).toBeLessThan(1_500)
    }
    expect(events).toContain('disconnect')

    await server.restart()
    expect(await until(() => events.at(-1) === 'connect')).toBe(true)
    const fresh = new Browser(app.url)
    await fresh.request('POST', '/login')
    expect((await fresh.request('GET', '/me')).body.user).toBe('alice')
  })
})

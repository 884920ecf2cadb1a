import { createRedis } from '@cachekit/redis'
import { type RedisServerHandle, startStandalone } from '@cachekit/redis-harness'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createSessions, tokenRevocations } from '../src/index.js'
import { onCleanup, uniquePrefix, until } from './helpers.js'

// A server of its own: this file kills it.
let server: RedisServerHandle
beforeAll(async () => {
  server = await startStandalone()
})
afterAll(async () => {
  await server?.stop()
})

describe('with Redis down', () => {
  it('calls fail fast with E_STORE_FAILURE, never hang, and work again once Redis is back', async () => {
    const sessions = createSessions({
      client: createRedis(server.url),
      prefix: uniquePrefix(),
      timeout: '300ms',
    })
    onCleanup(() => sessions.close())
    const session = await sessions.create('u', { n: 1 })
    await server.kill()
    for (const call of [
      () => sessions.get(session.id),
      () => sessions.create('u', {}),
      () => sessions.update(session.id, { n: 2 }),
      () => sessions.destroy(session.id),
    ]) {
      const started = performance.now()
      await expect(call()).rejects.toMatchObject({ code: 'E_STORE_FAILURE' })
      // Bounded by the timeout (and createRedis' fail-fast client), far from a hang.
      expect(performance.now() - started).toBeLessThan(2_000)
    }
    await server.restart()
    expect(
      await until(async () => (await sessions.create('u', {}).catch(() => undefined)) !== undefined),
    ).toBe(true)
    // Redis kept nothing on disk: the old session is gone, never half there.
    expect(await sessions.get(session.id)).toBeUndefined()
  })

  it('a frozen server (SIGSTOP) costs one timeout per call, not a hang', async () => {
    const sessions = createSessions({
      client: createRedis(server.url),
      prefix: uniquePrefix(),
      timeout: '200ms',
    })
    onCleanup(() => sessions.close())
    expect(
      await until(async () => (await sessions.create('u', {}).catch(() => undefined)) !== undefined),
    ).toBe(true)
    const session = await sessions.create('u', {})
    await server.freeze()
    try {
      await expect(sessions.get(session.id)).rejects.toMatchObject({ code: 'E_STORE_FAILURE' })
    } finally {
      await server.thaw()
    }
    expect((await sessions.get(session.id))?.id).toBe(session.id)
  })

  it('token revocations fail the same way, and answer again after a restart', async () => {
    const revocations = tokenRevocations({
      client: createRedis(server.url),
      prefix: uniquePrefix(),
      timeout: '300ms',
    })
    onCleanup(() => revocations.close())
    expect(await until(async () => (await revocations.isRevoked('a').catch(() => undefined)) === false)).toBe(
      true,
    )
    await server.kill()
    await expect(revocations.isRevoked('a')).rejects.toMatchObject({ code: 'E_STORE_FAILURE' })
    await server.restart()
    expect(await until(async () => (await revocations.isRevoked('a').catch(() => undefined)) === false)).toBe(
      true,
    )
  })
})

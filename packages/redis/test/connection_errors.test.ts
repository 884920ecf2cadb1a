import { randomUUID } from 'node:crypto'
import { once } from 'node:events'
import { inspect } from 'node:util'
import { type CacheError, type CacheEventMap, createCache } from '@cachekit/core'
import {
  type PortReservation,
  type RedisServerHandle,
  reservePort,
  startStandalone,
} from '@cachekit/redis-harness'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { createRedis, RedisConnectionError, redisStore } from '../src/index.js'

const PASSWORD = 'correct-horse-battery'
const WRONG_PASSWORD = 'wrong-staple-guess'

const closers: Array<() => Promise<unknown>> = []
afterEach(async () => {
  for (const close of closers.splice(0).reverse()) await close().catch(() => undefined)
})

/** Everything an error says: its message and every cause below it, fields included. */
function everything(error: unknown): string {
  return inspect(error, { depth: 20 })
}

/** The first error in the `cause` chain that passes `test`. */
function findCause(error: unknown, test: (cause: unknown) => boolean): unknown {
  let current: unknown = error
  for (let depth = 0; depth < 10 && current !== undefined; depth++) {
    if (test(current)) return current
    current = (current as { cause?: unknown }).cause
  }
  return undefined
}

/**
 * A cache whose L2 never connects, and the first error event of a read once the client has seen
 * its connection fail at least once.
 */
async function firstReadError(url: string): Promise<CacheError> {
  const client = createRedis(url)
  const cache = createCache({ prefix: `conn:${randomUUID()}`, l2: redisStore({ client }), l2Timeout: 300 })
  closers.push(() => cache.close())
  const errors: Array<CacheEventMap['error']> = []
  cache.on('error', (event) => errors.push(event))
  await once(client, 'error')
  expect(await cache.get('k')).toBeUndefined()
  expect(errors).toHaveLength(1)
  expect(errors[0]!.operation).toBe('get')
  return errors[0]!.error
}

describe('errors say what happened', () => {
  let nothing: PortReservation
  let secured: RedisServerHandle

  beforeAll(async () => {
    nothing = await reservePort() // reserved, and nothing listens on it
    secured = await startStandalone({ password: PASSWORD })
  })

  afterAll(async () => {
    nothing.release()
    await secured.stop()
  })

  it('a refused connection: ECONNREFUSED with host and port', async () => {
    const error = await firstReadError(`redis://127.0.0.1:${nothing.port}`)
    expect(error.code).toBe('E_STORE_FAILURE')
    expect(error.message).toContain(`did not answer get`)
    expect(error.message).toContain('ECONNREFUSED')
    expect(error.message).toContain(`127.0.0.1:${nothing.port}`)
    const connection = findCause(
      error,
      (cause) => cause instanceof RedisConnectionError,
    ) as RedisConnectionError
    expect(connection).toMatchObject({ reason: 'ECONNREFUSED', address: `127.0.0.1:${nothing.port}` })
    expect((connection.cause as NodeJS.ErrnoException).code).toBe('ECONNREFUSED')
  })

  it('a host that does not resolve: ENOTFOUND with host and port', async () => {
    // `.invalid` never resolves (RFC 6761): the local resolver answers, no query leaves the machine.
    const error = await firstReadError('redis://nonexistent.invalid:6390')
    expect(error.message).toContain('ENOTFOUND')
    expect(error.message).toContain('nonexistent.invalid:6390')
    const connection = findCause(error, (cause) => cause instanceof RedisConnectionError)
    expect(connection).toMatchObject({ reason: 'ENOTFOUND', address: 'nonexistent.invalid:6390' })
  })

  it('a wrong password: WRONGPASS with host and port, and no password anywhere', async () => {
    const error = await firstReadError(`redis://:${WRONG_PASSWORD}@127.0.0.1:${secured.port}`)
    expect(error.message).toContain('WRONGPASS')
    expect(error.message).toContain(`127.0.0.1:${secured.port}`)
    expect(findCause(error, (cause) => cause instanceof RedisConnectionError)).toMatchObject({
      reason: 'WRONGPASS',
    })
    // ioredis attaches the AUTH command and its arguments to the reply error: none of it may remain.
    expect(everything(error)).not.toContain(WRONG_PASSWORD)
    expect(everything(error)).not.toContain(PASSWORD)
  })

  it('no password for a server that wants one: NOAUTH with host and port', async () => {
    const error = await firstReadError(`redis://127.0.0.1:${secured.port}`)
    expect(error.message).toContain('NOAUTH')
    expect(error.message).toContain(`127.0.0.1:${secured.port}`)
    expect(everything(error)).not.toContain(PASSWORD)
  })

  it('a store used on its own says why its first connection never came', async () => {
    const store = redisStore({ client: createRedis(`redis://127.0.0.1:${nothing.port}`), readyTimeout: 300 })
    closers.push(() => store.close())
    const error = await store.get('k').then(
      () => undefined,
      (caught: unknown) => caught,
    )
    expect(error).toMatchObject({ code: 'E_STORE_FAILURE' })
    expect((error as Error).message).toMatch(
      new RegExp(`not ready within 300 ms.*ECONNREFUSED.*127\\.0\\.0\\.1:${nothing.port}`),
    )
  })

  it('a connection lost after it was up: the failures name the refused reconnection', async () => {
    const server = await startStandalone()
    closers.push(() => server.stop())
    const cache = createCache({
      prefix: `conn:${randomUUID()}`,
      l2: redisStore({ client: createRedis(server.url) }),
      l2Timeout: 300,
      breaker: { failureThreshold: 1_000 },
    })
    closers.push(() => cache.close())
    const errors: Array<CacheEventMap['error']> = []
    cache.on('error', (event) => errors.push(event))
    await cache.set('k', 'v')
    await server.kill()
    // Bounded: each read fails at once (no offline queue) or within 300 ms.
    let named = false
    for (let attempt = 0; attempt < 50 && !named; attempt++) {
      await cache.get('k')
      named = errors.some(({ error }) => error.message.includes(`ECONNREFUSED 127.0.0.1:${server.port}`))
      if (!named) await new Promise((resolve) => setTimeout(resolve, 50))
    }
    expect(named).toBe(true)
  })
})

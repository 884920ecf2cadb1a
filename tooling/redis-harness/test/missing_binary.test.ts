import { afterEach, describe, expect, it, vi } from 'vitest'
import { findRedisServer, RedisHarnessError, RedisServerMissingError, startStandalone } from '../src/index.js'

const missing = '/nonexistent/bin/redis-server'

describe('a missing redis-server binary', () => {
  afterEach(() => {
    vi.unstubAllEnvs()
  })

  it('is reported with a stable code and how to install it', () => {
    let caught: unknown
    try {
      findRedisServer({ REDIS_SERVER_BIN: missing, PATH: process.env.PATH })
    } catch (error) {
      caught = error
    }
    expect(caught).toBeInstanceOf(RedisServerMissingError)
    expect(RedisHarnessError.hasCode(caught, 'E_REDIS_SERVER_MISSING')).toBe(true)
    const message = (caught as Error).message
    expect(message).toContain(`REDIS_SERVER_BIN=${missing}`)
    expect(message).toContain('apt-get install redis-server')
    expect(message).toContain('brew install redis')
    expect(message).toContain('REDIS_URL')
    expect((caught as RedisServerMissingError).searched).toEqual([missing])
  })

  it('fails startStandalone before anything is started', async () => {
    vi.stubEnv('REDIS_SERVER_BIN', missing)
    await expect(startStandalone()).rejects.toMatchObject({ code: 'E_REDIS_SERVER_MISSING' })
  })

  it('is found on PATH when REDIS_SERVER_BIN is unset', () => {
    expect(findRedisServer({ PATH: process.env.PATH })).toMatch(/redis-server$/)
  })
})

import { CacheError } from '@cachekit/core'
import { describe, expect, it } from 'vitest'
import {
  connectionFromEnv,
  hasRedisEnv,
  parseRedisUrl,
  RedisConfigError,
  reconnectDelay,
} from '../src/index.js'

describe('parseRedisUrl', () => {
  it('reads host, port, ACL user, password and db', () => {
    expect(parseRedisUrl('redis://app:s%3Acret@cache.internal:6380/2')).toEqual({
      host: 'cache.internal',
      port: 6380,
      username: 'app',
      password: 's:cret',
      db: 2,
    })
  })

  it('defaults the port and turns rediss:// into TLS with the host as server name', () => {
    expect(parseRedisUrl('rediss://:secret@redis.example')).toEqual({
      host: 'redis.example',
      port: 6379,
      password: 'secret',
      tls: { servername: 'redis.example' },
    })
  })

  it('accepts IPv6 hosts', () => {
    expect(parseRedisUrl('redis://[::1]:7000')).toMatchObject({ host: '::1', port: 7000 })
  })

  it.each(['http://host:6379', 'not a url', 'redis://host:99999', 'redis://host/-1', 'redis://host/abc'])(
    'rejects %s with a typed error that does not leak a password',
    (url) => {
      let thrown: unknown
      try {
        parseRedisUrl(url)
      } catch (error) {
        thrown = error
      }
      expect(thrown).toBeInstanceOf(RedisConfigError)
      expect(CacheError.hasCode(thrown, 'E_INVALID_OPTION')).toBe(true)
    },
  )

  it('hides the password of an unparsable URL', () => {
    expect(() => parseRedisUrl('redis://user:hunter2@[bad')).toThrow(/user:\*\*\*@/)
    expect(() => parseRedisUrl('redis://user:hunter2@[bad')).not.toThrow(/hunter2/)
  })
})

describe('connectionFromEnv', () => {
  it('reads REDIS_URL, and lets single variables override its parts', () => {
    expect(connectionFromEnv({ REDIS_URL: 'redis://a:1/0', REDIS_PASSWORD: 'from-secret' })).toEqual({
      url: 'redis://a:1/0',
      password: 'from-secret',
    })
  })

  it('reads host, port, user, password, db and TLS', () => {
    expect(
      connectionFromEnv({
        REDIS_HOST: 'redis',
        REDIS_PORT: '6380',
        REDIS_USERNAME: 'app',
        REDIS_PASSWORD: 'pw',
        REDIS_DB: '3',
        REDIS_TLS: 'true',
      }),
    ).toEqual({ host: 'redis', port: 6380, username: 'app', password: 'pw', db: 3, tls: true })
  })

  it.each([
    [{ REDIS_PORT: 'http' }, /REDIS_PORT/],
    [{ REDIS_DB: '1.5' }, /REDIS_DB/],
    [{ REDIS_TLS: 'maybe' }, /REDIS_TLS/],
  ])('rejects %j', (env, message) => {
    expect(() => connectionFromEnv(env)).toThrow(message)
  })

  it('tells whether Redis is configured at all', () => {
    expect(hasRedisEnv({})).toBe(false)
    expect(hasRedisEnv({ REDIS_URL: '' })).toBe(false)
    expect(hasRedisEnv({ REDIS_HOST: 'redis' })).toBe(true)
  })
})

describe('reconnectDelay', () => {
  it('backs off and caps at 500 ms', () => {
    expect([1, 2, 3, 5, 50].map(reconnectDelay)).toEqual([100, 200, 300, 500, 500])
  })
})

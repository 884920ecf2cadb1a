import type { StandaloneConnectionOptions } from './connection_options.js'
import { RedisConfigError } from './errors.js'

/** The environment variables `createRedis()` reads. */
export interface RedisEnvironment {
  REDIS_URL?: string | undefined
  REDIS_HOST?: string | undefined
  REDIS_PORT?: string | undefined
  REDIS_USERNAME?: string | undefined
  REDIS_PASSWORD?: string | undefined
  REDIS_DB?: string | undefined
  REDIS_TLS?: string | undefined
}

const TRUE = new Set(['1', 'true', 'yes', 'on'])
const FALSE = new Set(['', '0', 'false', 'no', 'off'])

/**
 * Connection settings from the environment: `REDIS_URL` wins; otherwise `REDIS_HOST` (default
 * 127.0.0.1), `REDIS_PORT` (6379), `REDIS_USERNAME`, `REDIS_PASSWORD`, `REDIS_DB` (0) and `REDIS_TLS`.
 * Individual variables set next to `REDIS_URL` override its parts (a password from a secret store, say).
 */
export function connectionFromEnv(env: RedisEnvironment): StandaloneConnectionOptions {
  const options: StandaloneConnectionOptions = {}
  if (env.REDIS_URL) options.url = env.REDIS_URL
  if (env.REDIS_HOST) options.host = env.REDIS_HOST
  if (env.REDIS_PORT) options.port = integer('REDIS_PORT', env.REDIS_PORT)
  if (env.REDIS_USERNAME) options.username = env.REDIS_USERNAME
  if (env.REDIS_PASSWORD) options.password = env.REDIS_PASSWORD
  if (env.REDIS_DB) options.db = integer('REDIS_DB', env.REDIS_DB)
  if (env.REDIS_TLS !== undefined) options.tls = flag('REDIS_TLS', env.REDIS_TLS)
  return options
}

/** True when the environment names a Redis (so an app can choose the memory store otherwise). */
export function hasRedisEnv(env: RedisEnvironment): boolean {
  return Boolean(env.REDIS_URL || env.REDIS_HOST)
}

function integer(name: string, value: string): number {
  const parsed = Number(value)
  if (!/^\d+$/.test(value.trim()) || !Number.isSafeInteger(parsed)) {
    throw new RedisConfigError(`${name} must be a whole number, got ${JSON.stringify(value)}`)
  }
  return parsed
}

function flag(name: string, value: string): boolean {
  const normalized = value.trim().toLowerCase()
  if (TRUE.has(normalized)) return true
  if (FALSE.has(normalized)) return false
  throw new RedisConfigError(`${name} must be true or false, got ${JSON.stringify(value)}`)
}

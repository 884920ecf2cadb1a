import { type Duration, InvalidOptionError, parseDuration } from '@cachekit/core'
import type { AesKeyMaterial } from '@cachekit/serializers'
import type { Cluster, Redis } from 'ioredis'

/** Options of `createSessions`. */
export interface SessionsOptions {
  /** An ioredis client or Cluster, e.g. from `createRedis` (standalone, Sentinel or Cluster). */
  client?: Redis | Cluster
  /** Keep sessions in this process instead (development and tests). Exactly one of `client` and `memory`. */
  memory?: boolean
  /** Start of every key. Default `'session:'`. */
  prefix?: string
  /** How long a session lives (from its creation, or from its last use with `sliding`). Default `'24h'`. */
  ttl?: Duration
  /** Every `get` (and `touch`) extends the session to `ttl` from now. Default false. */
  sliding?: boolean
  /** A session ends this long after its creation, whatever `sliding` does. Default: none. */
  absoluteTimeout?: Duration
  /**
   * Encrypt session data at rest with AES-256-GCM, each field bound to its session's key and name.
   * Keys are id -> 32 bytes (a Buffer, hex or base64): new writes use the first, every one decrypts.
   */
  encryption?: { keys: Readonly<Record<string, AesKeyMaterial>> }
  /** Most sessions a user may hold at once. Default: no limit. */
  maxPerUser?: number
  /** At `maxPerUser`: end the session that would expire first (default), or refuse the new one. */
  onLimit?: 'evict-oldest' | 'refuse'
  /** Bind sessions to the IP and/or user agent they were created with (off by default; see README). */
  bind?: { ip?: boolean; userAgent?: boolean }
  /** The longest any call waits on Redis. Default `'1s'`. */
  timeout?: Duration
  /** Attempts of a functional `update` or a `regenerate` lost to a concurrent write, before `E_SESSION_CONFLICT`. Default 5. */
  maxRetries?: number
  /** The largest session, all encoded fields together. Default 64 KiB. */
  maxBytes?: number
  /** Key for the user tag in session ids (see README, "Session ids"). Default: none (a plain hash). */
  userTagSecret?: string
  /** `close()` also closes the client. Default true, as everywhere in cachekit. */
  closeClient?: boolean
}

export interface ResolvedSessionsOptions {
  client: Redis | Cluster | undefined
  prefix: string
  ttlMs: number
  sliding: boolean
  absoluteMs: number
  encryption: { keys: Readonly<Record<string, AesKeyMaterial>>; currentKeyId: string } | undefined
  maxPerUser: number
  onLimit: 'evict-oldest' | 'refuse'
  bindIp: boolean
  bindUserAgent: boolean
  timeoutMs: number
  maxRetries: number
  maxBytes: number
  userTagSecret: string | undefined
  closeClient: boolean
}

const DAY_MS = 24 * 60 * 60 * 1000

function fail(message: string): never {
  throw new InvalidOptionError(`[cachekit/sessions] ${message}`)
}

function positiveInteger(name: string, value: unknown, fallback: number, allowZero = false): number {
  if (value === undefined) return fallback
  if (typeof value !== 'number' || !Number.isInteger(value) || value < (allowZero ? 0 : 1)) {
    fail(`${name} must be a ${allowZero ? 'non-negative' : 'positive'} integer, got ${String(value)}`)
  }
  return value
}

/** Every option checked once, where it is given: a typo throws `E_INVALID_OPTION` at start-up. */
export function resolveSessionsOptions(options: SessionsOptions): ResolvedSessionsOptions {
  if (typeof options !== 'object' || options === null) fail('createSessions needs an options object')
  const { client, memory } = options
  if ((client === undefined) === (memory !== true)) {
    fail('pass exactly one of `client` (an ioredis client or Cluster) and `memory: true`')
  }
  const ttlMs = options.ttl === undefined ? DAY_MS : parseDuration(options.ttl)
  if (!(ttlMs >= 1)) fail('ttl must be at least 1 ms')
  const absoluteMs = options.absoluteTimeout === undefined ? 0 : parseDuration(options.absoluteTimeout)
  if (options.absoluteTimeout !== undefined && !(absoluteMs >= 1))
    fail('absoluteTimeout must be at least 1 ms')
  const onLimit = options.onLimit ?? 'evict-oldest'
  if (onLimit !== 'evict-oldest' && onLimit !== 'refuse') {
    fail(`onLimit must be 'evict-oldest' or 'refuse', got ${String(onLimit)}`)
  }
  const prefix = options.prefix ?? 'session:'
  if (typeof prefix !== 'string' || /[{}]/.test(prefix)) fail('prefix must be a string without { or }')
  const timeoutMs = options.timeout === undefined ? 1_000 : parseDuration(options.timeout)
  if (!(timeoutMs >= 1)) fail('timeout must be at least 1 ms')
  const bind = options.bind ?? {}
  if (typeof bind !== 'object' || bind === null) fail('bind must be { ip?: boolean, userAgent?: boolean }')
  return {
    client,
    prefix,
    ttlMs,
    sliding: options.sliding === true,
    absoluteMs,
    encryption: resolveEncryption(options.encryption),
    maxPerUser: positiveInteger('maxPerUser', options.maxPerUser, 0),
    onLimit,
    bindIp: bind.ip === true,
    bindUserAgent: bind.userAgent === true,
    timeoutMs,
    maxRetries: positiveInteger('maxRetries', options.maxRetries, 5, true),
    maxBytes: positiveInteger('maxBytes', options.maxBytes, 64 * 1024),
    userTagSecret: options.userTagSecret,
    closeClient: options.closeClient ?? true,
  }
}

function resolveEncryption(encryption: SessionsOptions['encryption']): ResolvedSessionsOptions['encryption'] {
  if (encryption === undefined) return undefined
  if (typeof encryption !== 'object' || encryption === null || typeof encryption.keys !== 'object') {
    fail('encryption must be { keys: { <key id>: <32-byte key> } }')
  }
  const [currentKeyId] = Object.keys(encryption.keys)
  if (currentKeyId === undefined) fail('encryption.keys needs at least one key')
  return { keys: encryption.keys, currentKeyId }
}

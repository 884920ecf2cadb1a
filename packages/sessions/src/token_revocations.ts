import { createHash } from 'node:crypto'
import { type Duration, InvalidOptionError, parseDuration, withDeadline } from '@cachekit/core'
import type { Cluster, Redis } from 'ioredis'

/** Options of `tokenRevocations`. */
export interface TokenRevocationsOptions {
  client: Redis | Cluster
  /** Start of every key. Default `'revoked:'`. */
  prefix?: string
  /**
   * The longest lifetime of a token you issue: `revokeAllForUser` keeps its cut-off this long, after
   * which every token issued before it has expired anyway. Default `'30d'`.
   */
  maxTokenLifetime?: Duration
  /** The longest any call waits on Redis. Default `'1s'`. */
  timeout?: Duration
}

/** What `isRevoked` needs to also apply `revokeAllForUser`: the token's `sub` and `iat` claims. */
export interface TokenClaims {
  /** The user (`sub`). */
  userId?: string
  /** When the token was issued (`iat`): seconds since the epoch, as in a JWT, or a Date. */
  issuedAt?: number | Date
}

/** A deny-list of JWTs (or any token with an id and an expiry) on Redis. */
export interface TokenRevocations {
  /** Revokes one token until it expires (`exp`: seconds since the epoch, as in a JWT, or a Date). False when it already has. */
  revoke(jti: string, exp: number | Date): Promise<boolean>
  /** True when the token is revoked, by id or (with its claims) by `revokeAllForUser`. One round trip. */
  isRevoked(jti: string, claims?: TokenClaims): Promise<boolean>
  /** Revokes every token of the user issued before `before` (default now). */
  revokeAllForUser(userId: string, before?: Date | number): Promise<void>
  close(): Promise<void>
}

/**
 * The user's cut-off only ever moves forward, whichever process writes last: an older
 * `revokeAllForUser` arriving late cannot un-revoke tokens.
 */
const MOVE_CUTOFF = `
local current = tonumber(redis.call('GET', KEYS[1]) or '0')
if tonumber(ARGV[1]) > current then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
end
return 1
`
const MOVE_CUTOFF_SHA = createHash('sha1').update(MOVE_CUTOFF).digest('hex')

/**
 * Creates a token deny-list on an ioredis client or Cluster.
 *
 * - `revoke(jti, exp)` writes `<prefix>jti:<jti>` with `PXAT exp`: the entry lives exactly as long as
 *   the token could be presented.
 * - `revokeAllForUser(userId)` writes a cut-off time under `<prefix>user:<userId>`; tokens of that user
 *   issued before it are revoked.
 * - `isRevoked(jti, { userId, issuedAt })` reads both at once (one MGET on a standalone server; two
 *   concurrent GETs on a Cluster, where the keys sit on different slots).
 *
 * @example
 * const revocations = tokenRevocations({ client: createRedis() })
 * await revocations.revoke(claims.jti, claims.exp) // at logout
 * if (await revocations.isRevoked(claims.jti, { userId: claims.sub, issuedAt: claims.iat })) deny()
 */
export function tokenRevocations(options: TokenRevocationsOptions): TokenRevocations {
  if (typeof options !== 'object' || options === null || !options.client) {
    throw new InvalidOptionError('[cachekit/sessions] tokenRevocations needs { client }')
  }
  const { client } = options
  const prefix = options.prefix ?? 'revoked:'
  const maxLifetimeMs = parseDuration(options.maxTokenLifetime ?? '30d')
  const timeoutMs = parseDuration(options.timeout ?? '1s')
  const jtiKey = (jti: string) => `${prefix}jti:${checkId('jti', jti)}`
  const userKey = (userId: string) => `${prefix}user:${checkId('userId', userId)}`

  const call = <T>(operation: string, pending: Promise<T>): Promise<T> =>
    withDeadline(pending, timeoutMs, 'redis', operation)

  return {
    async revoke(jti, exp) {
      const expiresAt = epochMs('exp', exp)
      if (expiresAt <= Date.now()) return false
      const written = await call('revoke', client.set(jtiKey(jti), '1', 'PXAT', expiresAt, 'NX'))
      return written === 'OK'
    },

    async isRevoked(jti, claims = {}) {
      const keys = [jtiKey(jti)]
      const issuedAt = claims.issuedAt === undefined ? undefined : epochMs('issuedAt', claims.issuedAt)
      if (claims.userId !== undefined && issuedAt !== undefined) keys.push(userKey(claims.userId))
      const values =
        keys.length === 1 || client.isCluster
          ? await call('isRevoked', Promise.all(keys.map((key) => client.get(key))))
          : await call('isRevoked', client.mget(...keys))
      if (values[0] !== null) return true
      const cutoff = values[1] == null ? undefined : Number(values[1])
      return cutoff !== undefined && issuedAt !== undefined && issuedAt < cutoff
    },

    async revokeAllForUser(userId, before = Date.now()) {
      const cutoff = epochMs('before', before, true)
      const key = userKey(userId)
      const args = [String(cutoff), String(maxLifetimeMs)]
      await call(
        'revokeAllForUser',
        client.evalsha(MOVE_CUTOFF_SHA, 1, key, ...args).catch((error: unknown) => {
          if (!(error instanceof Error) || !error.message.startsWith('NOSCRIPT')) throw error
          return client.eval(MOVE_CUTOFF, 1, key, ...args)
        }),
      )
    },

    async close() {
      if (client.status !== 'end') await client.quit().catch(() => client.disconnect())
    },
  }
}

function checkId(name: string, value: unknown): string {
  if (typeof value !== 'string' || value === '') {
    throw new InvalidOptionError(`[cachekit/sessions] ${name} must be a non-empty string`)
  }
  return value
}

/** A JWT time (seconds) or a Date as ms since the epoch; `millis` reads a number as ms instead. */
function epochMs(name: string, value: number | Date, millis = false): number {
  const ms =
    value instanceof Date
      ? value.getTime()
      : typeof value === 'number'
        ? millis
          ? value
          : value * 1000
        : Number.NaN
  if (!Number.isFinite(ms)) {
    throw new InvalidOptionError(
      `[cachekit/sessions] ${name} must be a number of seconds since the epoch or a Date`,
    )
  }
  return ms
}

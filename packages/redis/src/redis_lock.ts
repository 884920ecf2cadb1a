import { randomBytes } from 'node:crypto'
import type { DistributedLock } from '@cachekit/core'
import type { Cluster, Redis } from 'ioredis'
import { translateRedisError } from './reply_errors.js'

/** Deletes the lock only while it still holds the caller's token, atomically. */
const RELEASE_IF_OWNER = `if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end`

/**
 * A lock on Redis: `SET key token NX PX ttl` to take it, and a compare-and-delete script to release
 * it, so a process whose lock expired (and was taken over) can never release the new owner's lock.
 * Keys take the store's prefix, so a Cluster keeps a lock in its key's slot when the key has a hash tag.
 * A refusal (OOM, READONLY) rejects with `StoreRefusedError`; the cache then runs the factory here.
 */
export function redisLock(client: Redis | Cluster, prefix = ''): DistributedLock {
  return {
    async acquire(key, ttlMs) {
      const token = randomBytes(16).toString('base64url')
      try {
        const reply = await client.set(prefix + key, token, 'PX', Math.max(1, Math.ceil(ttlMs)), 'NX')
        return reply === 'OK' ? token : undefined
      } catch (error) {
        throw translateRedisError(error, 'redis', 'lock', key, undefined)
      }
    },
    async release(key, token) {
      try {
        const deleted = await client.eval(RELEASE_IF_OWNER, 1, prefix + key, token)
        return deleted === 1
      } catch (error) {
        throw translateRedisError(error, 'redis', 'unlock', key, undefined)
      }
    },
  }
}

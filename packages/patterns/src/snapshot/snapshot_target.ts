import { randomBytes } from 'node:crypto'
import { readFile, rename, rm, writeFile } from 'node:fs/promises'
import { type Duration, InvalidOptionError, parseDuration } from '@cachekit/core'
import type { Cluster, Redis } from 'ioredis'
import { describe } from '../options.js'

/**
 * Where a snapshot is written to and read from: a file (`{ path }`), or a Redis key (`{ client, key }`,
 * an ioredis client or Cluster; `ttl` bounds how long the key lives, by default until the last entry
 * in it expires).
 */
export type SnapshotTarget = { path: string } | { client: Redis | Cluster; key: string; ttl?: Duration }

/** The reads and writes of one target. */
export interface SnapshotIo {
  /** How the target is named in errors: the file path, or `redis:<key>`. */
  readonly name: string
  write(bytes: Buffer, lastExpiry: number): Promise<void>
  /** The bytes, or `undefined` when there is no snapshot there. */
  read(): Promise<Buffer | undefined>
}

/** The IO of a target; throws `InvalidOptionError` when it is neither kind. */
export function snapshotIo(target: SnapshotTarget): SnapshotIo {
  if (typeof target === 'object' && target !== null) {
    if ('path' in target && typeof target.path === 'string' && target.path !== '') return fileIo(target.path)
    if (
      'client' in target &&
      typeof target.key === 'string' &&
      target.key !== '' &&
      isClient(target.client)
    ) {
      const ttlMs = target.ttl === undefined ? undefined : parseDuration(target.ttl)
      return redisIo(target.client, target.key, ttlMs)
    }
  }
  throw new InvalidOptionError(
    `[cachekit/patterns] a snapshot target is { path } or { client, key, ttl? } (an ioredis client), got ${describe(target)}`,
  )
}

function fileIo(path: string): SnapshotIo {
  return {
    name: path,
    async write(bytes) {
      // Written beside it, then renamed over it: a reader (or a crash) never meets half a file.
      const temporary = `${path}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`
      try {
        await writeFile(temporary, bytes, { mode: 0o600 })
        await rename(temporary, path)
      } catch (error) {
        await rm(temporary, { force: true })
        throw error
      }
    },
    async read() {
      try {
        return await readFile(path)
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined
        throw error
      }
    },
  }
}

function redisIo(client: Redis | Cluster, key: string, ttlMs: number | undefined): SnapshotIo {
  return {
    name: `redis:${key}`,
    async write(bytes, lastExpiry) {
      // One SET: a reader sees the old snapshot or the new one, never a mix.
      const ms =
        ttlMs ??
        (Number.isFinite(lastExpiry) ? Math.max(1_000, Math.ceil(lastExpiry - Date.now())) : undefined)
      if (ms === undefined || ms === Number.POSITIVE_INFINITY) await client.set(key, bytes)
      else await client.set(key, bytes, 'PX', ms)
    },
    async read() {
      return (await client.getBuffer(key)) ?? undefined
    },
  }
}

function isClient(client: unknown): client is Redis | Cluster {
  return (
    typeof client === 'object' &&
    client !== null &&
    typeof (client as { getBuffer?: unknown }).getBuffer === 'function' &&
    typeof (client as { set?: unknown }).set === 'function'
  )
}

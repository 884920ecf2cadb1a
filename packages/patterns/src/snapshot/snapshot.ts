import { type Cache, InvalidOptionError, isFresh } from '@cachekit/core'
import { assertCache, describe, integerOption, optionsObject } from '../options.js'
import { decodeSnapshot, encodeSnapshot } from './snapshot_format.js'
import { type SnapshotTarget, snapshotIo } from './snapshot_target.js'

/** Options of `snapshot` and `restoreSnapshot`. */
export interface SnapshotOptions {
  /**
   * Signs the snapshot with HMAC-SHA-256 under this key (`restoreSnapshot` then needs the same
   * one), so a snapshot can only come from a holder of the key. Without it a SHA-256 checksum
   * still catches corruption and careless edits, not a forger. At least 16 bytes.
   */
  secret?: string | Uint8Array
}

/** Options of `snapshot`. */
export interface TakeSnapshotOptions extends SnapshotOptions {
  /** Most entries kept, the most recently used first. Default: all of L1's. */
  limit?: number
}

/** What `snapshot` wrote. */
export interface SnapshotReport {
  /** Entries in the snapshot. */
  entries: number
  /** Its size in bytes. */
  bytes: number
  /** Entries left out because their value could not be serialized (it holds a function, say). */
  skipped: number
}

/** What `restoreSnapshot` did. */
export interface RestoreReport {
  /** False when there was no snapshot at the source (a first start): nothing was restored. */
  found: boolean
  /** Entries in the snapshot. */
  entries: number
  /** Entries put into L1. */
  restored: number
  /** Entries left out because they were no longer fresh. */
  expired: number
  /** Entries left out because L1 already held their key (a copy read since, which is newer). */
  present: number
  /** When the snapshot was taken (ms since the epoch), when one was found. */
  writtenAt: number | undefined
}

/**
 * Writes the entries this process's L1 holds for `cache` (its namespaces included), most recently
 * used first, to a file or a Redis key, so a new process can start warm with `restoreSnapshot`.
 * Entries keep their own times (creation, expiry, grace) and tags. A file is replaced atomically
 * (written beside it, then renamed); a Redis key with one SET.
 *
 * Values are written with V8's serializer (node:v8): what structured clone carries (Dates, Maps,
 * Sets, BigInts, typed arrays) comes back as it was, class instances come back as plain objects,
 * and a value holding a function is left out (`skipped`).
 *
 * @throws {InvalidOptionError} (`E_INVALID_OPTION`) when an argument is not what it should be;
 *   file and Redis errors as they are.
 *
 * @example
 * process.on('SIGTERM', async () => {
 *   await snapshot(cache, { path: '/var/cache/app/l1.snapshot' })
 *   await cache.close()
 * })
 */
export async function snapshot(
  cache: Cache,
  target: SnapshotTarget,
  options?: TakeSnapshotOptions,
): Promise<SnapshotReport> {
  assertCache(cache, 'snapshot', ['l1Entries'])
  const io = snapshotIo(target)
  const given = optionsObject('snapshot options', options)
  const secret = secretOf(given.secret)
  const limit = integerOption('limit', given.limit, Number.MAX_SAFE_INTEGER, 0, Number.MAX_SAFE_INTEGER)
  const entries = cache.l1Entries().slice(0, limit)
  const { bytes, skipped } = encodeSnapshot(entries, secret)
  const lastExpiry = entries.reduce((last, { entry }) => Math.max(last, entry.hardExpiresAt), 0)
  await io.write(bytes, lastExpiry)
  return { entries: entries.length - skipped, bytes: bytes.length, skipped }
}

/**
 * Reads a snapshot written by `snapshot` and puts its entries into this process's L1 (not L2, and
 * nothing is announced on the bus). Call it before serving: the first reads are then L1 hits.
 *
 * - Each entry keeps its remaining TTL (its expiry is a moment, so time on disk counts) and stays in
 *   L1 at most `l1MaxTtl`; an entry no longer fresh is left out, and so is a key L1 already holds.
 *   Entries carry their creation time, so a tag invalidated after the snapshot was taken still
 *   invalidates them. Writes other processes made meanwhile reach the restored copies only by their
 *   TTL or `l1MaxTtl`: set `l1MaxTtl` to what staleness you accept.
 * - All or nothing: the whole snapshot is checked (checksum or HMAC, format, every entry) before
 *   anything is written; a corrupt or altered one is refused with `SnapshotError` and nothing of it
 *   is applied. So is one written by a cache with another prefix (`InvalidOptionError`).
 * - No snapshot at the source (a first start) is not an error: `found: false`.
 *
 * @throws {SnapshotError} (`E_CODEC_DECODE`) when the snapshot is corrupt, altered, signed
 *   otherwise than `secret` says, or of an unknown format.
 * @throws {InvalidOptionError} (`E_INVALID_OPTION`) when an argument is not what it should be, or
 *   the snapshot holds keys outside `cache`.
 *
 * @example
 * const cache = createCache({ prefix: 'app', l1: memoryStore({ maxEntries: 50_000 }), l2, l1MaxTtl: '1m' })
 * const { restored } = await restoreSnapshot(cache, { path: '/var/cache/app/l1.snapshot' })
 * server.listen(8080)
 */
export async function restoreSnapshot(
  cache: Cache,
  source: SnapshotTarget,
  options?: SnapshotOptions,
): Promise<RestoreReport> {
  assertCache(cache, 'restoreSnapshot', ['restoreL1'])
  const io = snapshotIo(source)
  const secret = secretOf(optionsObject('restoreSnapshot options', options).secret)
  const bytes = await io.read()
  if (bytes === undefined) {
    return { found: false, entries: 0, restored: 0, expired: 0, present: 0, writtenAt: undefined }
  }
  const decoded = decodeSnapshot(bytes, io.name, secret)
  const now = Date.now()
  const fresh = decoded.entries.filter(({ entry }) => isFresh(entry, now))
  const restored = await cache.restoreL1(fresh)
  return {
    found: true,
    entries: decoded.entries.length,
    restored,
    expired: decoded.entries.length - fresh.length,
    present: fresh.length - restored,
    writtenAt: decoded.writtenAt,
  }
}

function secretOf(secret: unknown): Uint8Array | undefined {
  if (secret === undefined) return undefined
  const bytes = typeof secret === 'string' ? Buffer.from(secret, 'utf8') : secret
  if (!(bytes instanceof Uint8Array) || bytes.byteLength < 16) {
    throw new InvalidOptionError(
      `[cachekit/patterns] a snapshot secret must be a string or bytes of at least 16 bytes, got ${describe(secret)}`,
    )
  }
  return bytes
}

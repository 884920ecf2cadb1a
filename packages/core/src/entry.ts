/**
 * The envelope every cached value travels in. L1 keeps it as an object; L2 keeps it framed as bytes
 * (see `entry_frame.ts`), so any process can tell fresh from stale and check tags without decoding
 * the value itself.
 */
export interface CacheEntry<T = unknown> {
  /** The cached value. */
  readonly value: T
  /** When the value was produced (ms since the epoch). Compared with tag invalidation times. */
  readonly createdAt: number
  /** Logical expiry: the value is fresh until then. `Infinity` when it never goes stale. */
  readonly expiresAt: number
  /**
   * Hard expiry: past `expiresAt` the value may still be served as stale (grace) until then, and
   * never after. `Infinity` when it is kept forever. Always `>= expiresAt`.
   */
  readonly hardExpiresAt: number
  /** Tags the entry was written with; invalidating any of them invalidates the entry. */
  readonly tags: readonly string[]
}

/** What `createEntry` needs besides the value. */
export interface EntryTiming {
  /** The moment of creation; defaults to `Date.now()`. */
  now?: number
  /** Freshness in ms; `undefined` means forever. */
  ttlMs?: number | undefined
  /** Extra time past `ttlMs` during which the stale value may still be served. */
  graceMs?: number | undefined
  tags?: readonly string[] | undefined
}

const noTags: readonly string[] = Object.freeze([])

/** Builds an entry from a value and its timing. */
export function createEntry<T>(value: T, timing: EntryTiming = {}): CacheEntry<T> {
  const createdAt = timing.now ?? Date.now()
  const expiresAt = timing.ttlMs === undefined ? Number.POSITIVE_INFINITY : createdAt + timing.ttlMs
  return {
    value,
    createdAt,
    expiresAt,
    hardExpiresAt: expiresAt + (timing.graceMs ?? 0),
    tags: timing.tags && timing.tags.length > 0 ? timing.tags : noTags,
  }
}

/** True while the entry is within its logical TTL. */
export function isFresh(entry: CacheEntry, now: number = Date.now()): boolean {
  return now < entry.expiresAt
}

/** True once the entry must never be served again, not even as stale. */
export function isHardExpired(entry: CacheEntry, now: number = Date.now()): boolean {
  return now >= entry.hardExpiresAt
}

/**
 * The time a store should keep the entry, in ms from `now`: until its hard expiry.
 * `undefined` means no expiry. Never below 1 ms, because stores treat 0 as "no TTL" or reject it.
 */
export function storeTtlMs(entry: CacheEntry, now: number = Date.now()): number | undefined {
  if (entry.hardExpiresAt === Number.POSITIVE_INFINITY) return undefined
  return Math.max(1, Math.ceil(entry.hardExpiresAt - now))
}

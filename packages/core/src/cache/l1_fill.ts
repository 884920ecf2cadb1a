import type { CacheEntry } from '../entry.js'
import type { Store } from '../store.js'

/**
 * Puts an entry into L1, for at most `maxTtlMs` (`l1MaxTtl`). An L1 refusal (a value above its byte
 * bound) only costs a later L2 read, so it is swallowed.
 */
export async function fillL1(
  l1: Store<CacheEntry>,
  storeKey: string,
  entry: CacheEntry,
  maxTtlMs: number | undefined,
): Promise<void> {
  // Rounded down, never up: the L1 copy must be gone by `hardExpiresAt`, which the read path's
  // fast check relies on.
  const ttl =
    entry.hardExpiresAt === Number.POSITIVE_INFINITY
      ? undefined
      : Math.floor(entry.hardExpiresAt - Date.now())
  if (ttl !== undefined && ttl < 1) return
  const l1Ttl = maxTtlMs === undefined ? ttl : Math.min(ttl ?? maxTtlMs, maxTtlMs)
  await l1.set(storeKey, entry, l1Ttl).catch(() => undefined)
}

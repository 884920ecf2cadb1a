import type { CacheTier } from './cache_events.js'

/** Hit and miss counts of one tier. */
export interface TierStats {
  hits: number
  misses: number
}

/** A snapshot of what a cache has done since it was created. */
export interface CacheStats {
  hits: number
  misses: number
  /** hits / (hits + misses), 0 before the first read. */
  hitRate: number
  /** Hits that served a stale value (within grace) because the factory failed, was slow or ran elsewhere. */
  staleHits: number
  sets: number
  deletes: number
  /** Cache failures (remote tier errors, timeouts, undecodable bytes), all of them emitted as `error`. */
  errors: number
  /**
   * Of `errors`, the operations the remote store refused although it was up (`E_STORE_REFUSED`: out
   * of memory, read-only replica, a script error). They never open the circuit breaker.
   */
  refused: number
  /** True while the remote tier is skipped and the fallback store serves. */
  usingFallback: boolean
  tiers: Record<CacheTier, TierStats>
}

/** Mutable counters behind `stats()`; plain fields because they are bumped on every call. */
export class StatsCounters {
  hits = 0
  misses = 0
  staleHits = 0
  sets = 0
  deletes = 0
  errors = 0
  refused = 0
  readonly tiers: Record<CacheTier, TierStats> = {
    l1: { hits: 0, misses: 0 },
    l2: { hits: 0, misses: 0 },
    fallback: { hits: 0, misses: 0 },
  }

  snapshot(usingFallback: boolean): CacheStats {
    const reads = this.hits + this.misses
    return {
      hits: this.hits,
      misses: this.misses,
      hitRate: reads === 0 ? 0 : this.hits / reads,
      staleHits: this.staleHits,
      sets: this.sets,
      deletes: this.deletes,
      errors: this.errors,
      refused: this.refused,
      usingFallback,
      tiers: {
        l1: { ...this.tiers.l1 },
        l2: { ...this.tiers.l2 },
        fallback: { ...this.tiers.fallback },
      },
    }
  }
}

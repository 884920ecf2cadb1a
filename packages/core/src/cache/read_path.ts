import type { CacheEntry } from '../entry.js'
import type { Store } from '../store.js'
import type { CacheEvents, CacheTier } from './cache_events.js'
import type { StatsCounters } from './cache_stats.js'
import type { InvalidationEpochs } from './invalidation_epochs.js'
import { fillL1 } from './l1_fill.js'
import type { RemoteTier } from './remote_tier.js'
import { TAGS_INVALID, TAGS_VALID, type TagTimes } from './tag_times.js'

/** An entry and the tier it was read from. */
export interface Found {
  readonly entry: CacheEntry
  readonly tier: CacheTier
}

/**
 * What a read found:
 * - `fresh`: an entry within its TTL whose tags stand;
 * - `stale`: an entry past its TTL but within its grace, or one a lazy tag invalidation made stale
 *   (`invalidated`); `getOrSet` may serve it, `get` and `has` never do;
 * - `miss`: nothing that may be served.
 */
export type Read =
  | (Found & { readonly state: 'fresh' })
  | (Found & { readonly state: 'stale'; readonly invalidated: boolean })
  | { readonly state: 'miss' }

/** A stale read. */
export type StaleRead = Extract<Read, { state: 'stale' }>

const MISS: Read = Object.freeze({ state: 'miss' })

/** Most keys per delete when reads drop invalidated entries from L2. */
const DROP_BATCH = 500

export interface ReadPathParts {
  l1: Store<CacheEntry> | undefined
  l1MaxTtlMs: number | undefined
  remote: RemoteTier | undefined
  tagTimes: TagTimes | undefined
  epochs: InvalidationEpochs
  stats: StatsCounters
  events: CacheEvents
}

/**
 * Every read of the cache, from start to end: L1, the tag times (resolved once per batch), L2, the
 * epoch guard, one L1 fill, and the hit and miss counts. `get`, `has`, `getMany` and `getOrSet` only
 * map its answer (`fresh | stale | miss`), so they agree by construction.
 *
 * The epoch guard: a read of L2 that started before its key was written or deleted (here, or
 * elsewhere as heard on the bus) may come back with the old value, so it is returned but not copied
 * into L1, where it would outlive the change.
 */
export class ReadPath {
  private readonly l1: Store<CacheEntry> | undefined
  private readonly remote: RemoteTier | undefined
  private readonly tagTimes: TagTimes | undefined
  private invalidatedRemoteKeys: string[] | undefined

  constructor(private readonly parts: ReadPathParts) {
    this.l1 = parts.l1
    this.remote = parts.remote
    this.tagTimes = parts.tagTimes
  }

  /**
   * L1 alone, without a promise: a fresh entry whose tags are known to stand, else `undefined`
   * (then `read` decides). Counts nothing.
   */
  fast(storeKey: string): CacheEntry | undefined {
    const entry = this.l1?.getSync?.(storeKey)
    // Without grace the L1 TTL ends at or before `expiresAt` (see fillL1), so the store's own expiry
    // check is enough and the hit skips a clock read.
    if (
      entry === undefined ||
      (entry.expiresAt !== entry.hardExpiresAt && Date.now() >= entry.expiresAt) ||
      (entry.tags.length !== 0 && this.tagTimes?.check(entry) !== TAGS_VALID)
    ) {
      return undefined
    }
    return entry
  }

  /** One key through every tier. */
  async read(storeKey: string): Promise<Read> {
    let local: Read = MISS
    if (this.l1) {
      const entry = this.l1.getSync
        ? this.l1.getSync(storeKey)
        : await this.l1.get(storeKey).catch(() => undefined)
      if (entry !== undefined) {
        const judged = this.judge(entry, storeKey, 'l1')
        local = judged instanceof Promise ? await judged : judged
      }
      if (local.state === 'fresh' || !this.remote) return local
    }
    if (!this.remote) return MISS
    const readStartedAt = this.parts.epochs.now()
    const hit = await this.remote.get(storeKey)
    const judged = hit ? this.judge(hit.entry, storeKey, hit.tier) : MISS
    const remote = judged instanceof Promise ? await judged : judged
    if (remote.state === 'fresh') {
      if (this.l1) await this.copyToL1(this.l1, storeKey, remote.entry, readStartedAt)
      return remote
    }
    return newerStale(local, remote)
  }

  /** Several keys, in order: L1 for each, tag times resolved once per batch, one L2 round trip for the rest. */
  async readMany(storeKeys: readonly string[]): Promise<Read[]> {
    const reads: Read[] = new Array(storeKeys.length).fill(MISS)
    let rest: number[] = []
    if (this.l1) {
      const l1 = this.l1
      const entries = l1.getSync
        ? storeKeys.map((storeKey) => l1.getSync!(storeKey))
        : await Promise.all(storeKeys.map((storeKey) => l1.get(storeKey).catch(() => undefined)))
      await this.tagTimes?.resolveFor(entries)
      for (const [i, entry] of entries.entries()) {
        if (entry !== undefined) {
          const judged = this.judge(entry, storeKeys[i]!, 'l1')
          reads[i] = judged instanceof Promise ? await judged : judged
        }
        if (reads[i]!.state !== 'fresh') rest.push(i)
      }
    } else {
      rest = storeKeys.map((_, i) => i)
    }
    if (!this.remote || rest.length === 0) return reads
    const readStartedAt = this.parts.epochs.now()
    const hits = await this.remote.getMany(rest.map((i) => storeKeys[i]!))
    await this.tagTimes?.resolveFor(hits.map((hit) => hit?.entry))
    const copies: Array<Promise<void>> = []
    for (const [j, hit] of hits.entries()) {
      const i = rest[j]!
      const judged = hit ? this.judge(hit.entry, storeKeys[i]!, hit.tier) : MISS
      const remote = judged instanceof Promise ? await judged : judged
      if (remote.state === 'fresh' && this.l1) {
        copies.push(this.copyToL1(this.l1, storeKeys[i]!, remote.entry, readStartedAt))
      }
      reads[i] = remote.state === 'fresh' ? remote : newerStale(reads[i]!, remote)
    }
    if (copies.length > 0) await Promise.all(copies)
    return reads
  }

  /**
   * Counts a read served from `tier` (stale or not), once per call: an answer from L2 or the
   * fallback is also an L1 miss.
   */
  countHit(storeKey: string, tier: CacheTier, stale = false): void {
    const { stats, events } = this.parts
    stats.hits++
    stats.tiers[tier].hits++
    if (tier !== 'l1' && this.l1) stats.tiers.l1.misses++
    if (stale) stats.staleHits++
    if (events.has('hit')) events.emit('hit', { key: storeKey, tier, stale })
  }

  /** Counts reads that found nothing to serve, once per call, in every tier they went through. */
  countMisses(storeKeys: readonly string[]): void {
    const { stats, events } = this.parts
    stats.misses += storeKeys.length
    if (this.l1) stats.tiers.l1.misses += storeKeys.length
    if (this.remote) stats.tiers[this.remote.usingFallback ? 'fallback' : 'l2'].misses += storeKeys.length
    if (events.has('miss')) for (const key of storeKeys) events.emit('miss', { key })
  }

  /**
   * An entry read from `tier`, judged: against its tags (invalidated: a miss, and the copy is
   * deleted in the background; lazily invalidated: stale from the invalidation on), then against
   * the clock of after its tag times were read. Synchronous for untagged entries, and callers await
   * only a promise: `await` of a plain value still costs a microtask, which a `getMany` of 100
   * untagged keys would pay 100 times.
   */
  private judge(entry: CacheEntry, storeKey: string, tier: CacheTier): Read | Promise<Read> {
    if (entry.tags.length === 0) return judgeTime(entry, tier, false)
    return this.judgeTagged(entry, storeKey, tier)
  }

  private async judgeTagged(entry: CacheEntry, storeKey: string, tier: CacheTier): Promise<Read> {
    // A process without a tag index cannot tell; a miss is the safe answer.
    const verdict = this.tagTimes ? await this.tagTimes.checkResolved(entry) : TAGS_INVALID
    if (verdict === TAGS_VALID) return judgeTime(entry, tier, false)
    if (verdict === TAGS_INVALID) {
      if (this.tagTimes) this.dropInvalidated(storeKey, tier)
      return MISS
    }
    return judgeTime(markStale(entry, verdict), tier, true)
  }

  /** Copies a fresh remote entry into L1, unless its key changed while it was being read. */
  private async copyToL1(
    l1: Store<CacheEntry>,
    storeKey: string,
    entry: CacheEntry,
    readStartedAt: number,
  ): Promise<void> {
    if (this.parts.epochs.changedSince(storeKey, readStartedAt)) return
    await fillL1(l1, storeKey, entry, this.parts.l1MaxTtlMs)
  }

  /**
   * Physical clean-up of an entry a read found invalidated. Remote deletes are gathered until the
   * next turn of the event loop, so a `getMany` over invalidated keys costs one UNLINK, not one each.
   */
  private dropInvalidated(storeKey: string, tier: CacheTier): void {
    void this.l1?.delete([storeKey]).catch(() => undefined)
    if (tier === 'l1' || !this.remote) return
    if (!this.invalidatedRemoteKeys) {
      this.invalidatedRemoteKeys = []
      setImmediate(() => this.flushInvalidatedRemoteKeys())
    }
    this.invalidatedRemoteKeys.push(storeKey)
  }

  private flushInvalidatedRemoteKeys(): void {
    const keys = this.invalidatedRemoteKeys ?? []
    this.invalidatedRemoteKeys = undefined
    for (let i = 0; i < keys.length; i += DROP_BATCH) {
      void this.remote?.delete(keys.slice(i, i + DROP_BATCH)).catch(() => undefined)
    }
  }
}

function judgeTime(entry: CacheEntry, tier: CacheTier, invalidated: boolean): Read {
  const now = Date.now()
  if (now >= entry.hardExpiresAt) return MISS
  if (now < entry.expiresAt) return { state: 'fresh', entry, tier }
  return { state: 'stale', entry, tier, invalidated }
}

/** Of two reads that are not fresh, the stale one written last (for grace), else a miss. */
function newerStale(local: Read, remote: Read): Read {
  if (local.state !== 'stale') return remote
  if (remote.state !== 'stale' || local.entry.createdAt >= remote.entry.createdAt) return local
  return remote
}

/**
 * A lazily invalidated entry: stale from the invalidation on, and served stale for no longer than
 * its grace from then (not from its original expiry). Without grace it is gone at once.
 */
function markStale(entry: CacheEntry, invalidatedAt: number): CacheEntry {
  // A time a little ahead of this clock (another host's, or a write clock's sub-millisecond step)
  // still means the invalidation happened: it takes effect now.
  const since = Math.min(invalidatedAt, Date.now())
  // An entry kept forever has no grace to speak of (Infinity - Infinity): it is simply gone.
  const grace = Number.isFinite(entry.expiresAt) ? entry.hardExpiresAt - entry.expiresAt : 0
  return {
    value: entry.value,
    createdAt: entry.createdAt,
    expiresAt: Math.min(entry.expiresAt, since),
    hardExpiresAt: Math.min(entry.hardExpiresAt, since + grace),
    tags: entry.tags,
  }
}

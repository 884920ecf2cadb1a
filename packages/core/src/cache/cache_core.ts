import { parseDuration, parseOptionalDuration } from '../duration.js'
import { type CacheEntry, createEntry, isHardExpired } from '../entry.js'
import { CacheError, CodecEncodeError, InvalidOptionError } from '../errors.js'
import type { DistributedLock, Store } from '../store.js'
import { CacheEvents, type CacheOperation, type CacheTier } from './cache_events.js'
import type { CacheOptions, GetOrSetOptions, Ttl } from './cache_options.js'
import { StatsCounters } from './cache_stats.js'
import { GraceBackoff } from './grace_backoff.js'
import { InvalidationEpochs } from './invalidation_epochs.js'
import { L1Sync } from './l1_sync.js'
import { RemoteTier } from './remote_tier.js'
import { SingleFlight } from './single_flight.js'
import { resolveTtlMs } from './ttl_policy.js'

/** An entry found in some tier, fresh or stale. */
export interface Found {
  entry: CacheEntry
  tier: CacheTier
}

/** A write the core applies to every tier. */
export interface PendingWrite {
  storeKey: string
  entry: CacheEntry
}

/** Call defaults after parsing: what `getOrSet` reads on every call. */
export interface ResolvedDefaults {
  ttl: Ttl
  graceMs: number
  softMs: number | undefined
  hardMs: number | undefined
  lock: 'local' | 'distributed'
  lockTtlMs: number
  refreshAhead: number | undefined
}

/**
 * What every view of one cache (its namespaces and profiles) shares: the tiers, the bus, counters,
 * events, in-flight factories, and the operations on all tiers at once.
 */
export class CacheCore {
  readonly l1: Store<CacheEntry> | undefined
  readonly remote: RemoteTier | undefined
  readonly sync: L1Sync | undefined
  readonly root: string
  readonly l1MaxTtlMs: number | undefined
  readonly defaults: ResolvedDefaults
  readonly throwErrors: boolean
  readonly events = new CacheEvents()
  readonly stats = new StatsCounters()
  readonly flights = new SingleFlight()
  readonly refreshes = new SingleFlight()
  readonly epochs = new InvalidationEpochs()
  readonly backoff: GraceBackoff
  readonly profiles = new Map<string, GetOrSetOptions>()
  closed = false
  private readonly started: Promise<void>

  constructor(options: CacheOptions, root: string) {
    this.root = root
    this.l1 = options.l1
    this.l1MaxTtlMs = parseOptionalDuration(options.l1MaxTtl)
    this.throwErrors = options.throwErrors ?? false
    this.defaults = resolveDefaults(options)
    this.backoff = new GraceBackoff(parseDuration(options.graceBackoff ?? '5s'))
    this.remote = options.l2 ? this.createRemote(options, options.l2) : undefined
    if (!options.l1 && !options.l2) {
      throw new InvalidOptionError('[cachekit/core] a cache needs at least one tier: pass `l1`, `l2` or both')
    }
    this.sync =
      options.bus &&
      new L1Sync({
        bus: options.bus,
        channel: `cachekit:l1:${root}`,
        l1: this.l1,
        root,
        epochs: this.epochs,
        events: this.events,
        stats: this.stats,
        deleteMatchingInL1: (pattern) => (this.l1 ? deleteMatchingIn(this.l1, pattern) : Promise.resolve(0)),
        tracking: options.tracking ?? false,
      })
    if (options.tracking && !options.bus?.trackKeys) {
      throw new InvalidOptionError(
        '[cachekit/core] `tracking` needs a `bus` with `trackKeys`, such as redisBus from @cachekit/pubsub',
      )
    }
    // Writes do not wait for the subscription: publishing needs none, and a cache started while
    // Redis is down must still serve. The sync retries by itself and reports its failures.
    this.started = this.sync?.start() ?? Promise.resolve()
  }

  /** Resolves after the first bus subscription attempt (immediately without a bus). */
  ready(): Promise<void> {
    return this.started
  }

  /** The distributed lock of L2, while L2 is in use. */
  get lock(): DistributedLock | undefined {
    return this.remote && !this.remote.usingFallback ? this.remote.lock : undefined
  }

  /** A fresh L1 entry (counted as a hit), else `undefined` (counted as an L1 miss when `count`). */
  readL1Fresh(storeKey: string, count = true): CacheEntry | undefined {
    const entry = this.l1?.getSync?.(storeKey)
    // Without grace the L1 TTL ends at or before `expiresAt` (see writeL1), so the store's own
    // expiry check is enough and the hit skips a clock read.
    if (entry === undefined || (entry.expiresAt !== entry.hardExpiresAt && Date.now() >= entry.expiresAt)) {
      if (count && this.l1) this.stats.tiers.l1.misses++
      return undefined
    }
    if (count) this.countHit(storeKey, 'l1')
    return entry
  }

  /**
   * The best entry of any tier, fresh or stale (never past its hard expiry); a fresh remote entry is
   * copied into L1 unless the key changed while it was being read.
   */
  async find(storeKey: string): Promise<Found | undefined> {
    const now = Date.now()
    let local: CacheEntry | undefined
    if (this.l1) {
      local = this.l1.getSync ? this.l1.getSync(storeKey) : await this.l1.get(storeKey).catch(() => undefined)
      if (local && isHardExpired(local, now)) local = undefined
      if (local && now < local.expiresAt) return { entry: local, tier: 'l1' }
    }
    if (!this.remote) return local && { entry: local, tier: 'l1' }
    const readStartedAt = this.epochs.now()
    const hit = await this.remote.get(storeKey)
    const remote = hit && !isHardExpired(hit.entry) ? hit : undefined
    if (remote && Date.now() < remote.entry.expiresAt) {
      if (this.l1 && !this.epochs.changedSince(storeKey, readStartedAt))
        await this.writeL1(storeKey, remote.entry)
      return remote
    }
    // Both stale (or missing): the newer of the two, for grace.
    if (local && (!remote || local.createdAt >= remote.entry.createdAt)) return { entry: local, tier: 'l1' }
    return remote
  }

  /** Builds an entry for a write, from the call's options over the view's and the cache's defaults. */
  createEntry<T>(key: string, value: T, options: GetOrSetOptions<T>, now: number): CacheEntry<T> {
    const ttl = (options.ttl ?? this.defaults.ttl) as Ttl<T>
    const graceMs = options.grace === undefined ? this.defaults.graceMs : parseGrace(options.grace)
    return createEntry(value, { now, ttlMs: resolveTtlMs(ttl, value, key, now), graceMs })
  }

  /** Writes entries to every tier, then announces them. Cache failures are reported, not thrown. */
  async write(writes: readonly PendingWrite[], operation: CacheOperation): Promise<void> {
    const remoteWrites: Array<{ key: string; entry: CacheEntry; bytes: Uint8Array }> = []
    const accepted: PendingWrite[] = []
    for (const write of writes) {
      const bytes = this.encodeFor(write, operation)
      if (bytes === null) continue
      accepted.push(write)
      if (bytes) remoteWrites.push({ key: write.storeKey, entry: write.entry, bytes })
    }
    if (accepted.length === 0) return
    const storeKeys = accepted.map((write) => write.storeKey)
    this.epochs.markKeys(storeKeys)
    for (const key of storeKeys) this.backoff.clear(key)
    await Promise.all(accepted.map((write) => this.writeL1(write.storeKey, write.entry)))
    if (this.remote) {
      if (remoteWrites.length === 1) {
        const [only] = remoteWrites
        await this.remote.set(only!.key, only!.entry, only!.bytes)
      } else if (remoteWrites.length > 0) {
        await this.remote.setMany(remoteWrites)
      }
    }
    await this.sync?.publish({ op: 'write', keys: storeKeys })
    this.stats.sets += storeKeys.length
    if (this.events.has('set')) for (const key of storeKeys) this.events.emit('set', { key })
  }

  /** Deletes keys from every tier, then announces it; resolves with how many existed. */
  async delete(storeKeys: readonly string[]): Promise<number> {
    this.epochs.markKeys(storeKeys)
    const [localCount, remoteCount] = await Promise.all([
      this.l1?.delete(storeKeys),
      this.remote?.delete(storeKeys),
    ])
    await this.sync?.publish({ op: 'delete', keys: [...storeKeys] })
    this.stats.deletes += storeKeys.length
    if (this.events.has('delete')) for (const key of storeKeys) this.events.emit('delete', { key })
    return remoteCount ?? localCount ?? 0
  }

  async clear(prefix: string): Promise<void> {
    this.epochs.markAll()
    await Promise.all([this.l1?.clear(prefix), this.remote?.clear(prefix)])
    await this.sync?.publish({ op: 'clear', prefix })
    this.events.emit('clear', { prefix })
  }

  async deleteMatching(storePattern: string): Promise<number> {
    this.epochs.markAll()
    const local = this.l1 ? deleteMatchingIn(this.l1, storePattern) : Promise.resolve(0)
    const [localCount, remoteCount] = await Promise.all([local, this.remote?.deleteMatching(storePattern)])
    await this.sync?.publish({ op: 'match', pattern: storePattern })
    return remoteCount ?? localCount
  }

  async writeL1(storeKey: string, entry: CacheEntry): Promise<void> {
    if (!this.l1) return
    // Rounded down, never up: the L1 copy must be gone by `hardExpiresAt`, which `readL1Fresh` relies on.
    const ttl =
      entry.hardExpiresAt === Number.POSITIVE_INFINITY
        ? undefined
        : Math.floor(entry.hardExpiresAt - Date.now())
    if (ttl !== undefined && ttl < 1) return
    const max = this.l1MaxTtlMs
    const l1Ttl = max === undefined ? ttl : Math.min(ttl ?? max, max)
    // An L1 refusal (a value above its byte bound) only costs a later L2 read.
    await this.l1.set(storeKey, entry, l1Ttl).catch(() => undefined)
  }

  countHit(storeKey: string, tier: CacheTier, stale = false): void {
    this.stats.hits++
    this.stats.tiers[tier].hits++
    if (stale) this.stats.staleHits++
    if (this.events.has('hit')) this.events.emit('hit', { key: storeKey, tier, stale })
  }

  countMisses(storeKeys: readonly string[]): void {
    this.stats.misses += storeKeys.length
    if (this.remote)
      this.stats.tiers[this.remote.usingFallback ? 'fallback' : 'l2'].misses += storeKeys.length
    if (this.events.has('miss')) for (const key of storeKeys) this.events.emit('miss', { key })
  }

  /** Counts and emits a cache failure; throws it only when the cache was told to. */
  report(operation: CacheOperation, error: unknown, key?: string): void {
    const typed = CacheError.isInstance(error)
      ? error
      : new CodecEncodeError(`[cachekit/core] the value under "${key}" cannot be cached`, {
          key,
          cause: error,
        })
    this.stats.errors++
    this.events.emit(
      'error',
      key === undefined ? { error: typed, operation } : { error: typed, operation, key },
    )
    if (this.throwErrors) throw typed
  }

  /** `report` for work no caller waits on: there is nobody to throw at, even with `throwErrors`. */
  reportInBackground(operation: CacheOperation, error: unknown, key?: string): void {
    try {
      this.report(operation, error, key)
    } catch {
      // Counted and emitted already; throwing here would only make an unhandled rejection.
    }
  }

  assertOpen(): void {
    if (this.closed) throw new InvalidOptionError('[cachekit/core] the cache is closed')
  }

  async close(): Promise<void> {
    if (this.closed) return
    this.closed = true
    await this.started
    await this.sync?.stop()
    await Promise.all([this.l1?.close(), this.remote?.close()])
  }

  /**
   * Bytes for L2, `undefined` without L2, or `null` when the codec refused the value (too large, or
   * of a type it cannot encode). A refused value must not leave an older copy behind to be served
   * as if the write had happened, so the key is deleted from every tier.
   */
  private encodeFor(write: PendingWrite, operation: CacheOperation): Uint8Array | undefined | null {
    if (!this.remote) return undefined
    try {
      return this.remote.encode(write.entry)
    } catch (error) {
      void this.l1?.delete([write.storeKey]).catch(() => undefined)
      void this.remote.delete([write.storeKey])
      this.report(operation, error, write.storeKey)
      return null
    }
  }

  private createRemote(options: CacheOptions, l2: Store<Uint8Array>): RemoteTier {
    const codec = options.codec ?? l2.codec
    if (!codec) {
      throw new InvalidOptionError(
        '[cachekit/core] an L2 store needs a codec: pass `codec`, e.g. defaultCodec() from @cachekit/serializers',
      )
    }
    const failureThreshold = options.breaker?.failureThreshold ?? 3
    if (!Number.isInteger(failureThreshold) || failureThreshold < 1) {
      throw new InvalidOptionError('[cachekit/core] breaker.failureThreshold must be a positive integer')
    }
    return new RemoteTier({
      store: l2,
      codec,
      fallback: options.fallback,
      timeoutMs: parseDuration(options.l2Timeout ?? '1s'),
      failureThreshold,
      probeIntervalMs: parseDuration(options.breaker?.probeInterval ?? '500ms'),
      probeKey: `${this.root}\u0000probe`,
      maxOutageKeys: options.maxOutageKeys ?? 100_000,
      throwErrors: this.throwErrors,
      events: this.events,
      stats: this.stats,
    })
  }
}

function resolveDefaults(options: CacheOptions): ResolvedDefaults {
  const hardMs = parseOptionalDuration(options.timeouts?.hard)
  const refreshAhead = options.refreshAhead === false ? undefined : options.refreshAhead
  return {
    ttl: options.ttl ?? '1h',
    graceMs: parseGrace(options.grace),
    softMs: parseOptionalDuration(options.timeouts?.soft),
    hardMs,
    lock: options.lock ?? 'local',
    lockTtlMs: parseDuration(options.lockTtl ?? hardMs ?? '10s'),
    refreshAhead: checkRefreshAhead(refreshAhead),
  }
}

export function parseGrace(grace: GetOrSetOptions['grace']): number {
  return grace === undefined || grace === false ? 0 : parseDuration(grace)
}

export function checkRefreshAhead(fraction: number | undefined): number | undefined {
  if (fraction === undefined) return undefined
  if (!(fraction > 0 && fraction < 1)) {
    throw new InvalidOptionError(
      `[cachekit/core] refreshAhead must be a fraction between 0 and 1, got ${fraction}`,
    )
  }
  return fraction
}

export async function deleteMatchingIn(store: Store<CacheEntry>, pattern: string): Promise<number> {
  const keys: string[] = []
  for await (const key of store.scan(pattern)) keys.push(key)
  return keys.length === 0 ? 0 : store.delete(keys)
}

import type { Bus } from '../bus.js'
import { type CacheEntry, isFresh } from '../entry.js'
import { CacheClosedError, CacheError, InvalidOptionError, StoreFailureError } from '../errors.js'
import { escapeGlob } from '../glob.js'
import type { DistributedLock, Store } from '../store.js'
import type { TagIndex } from '../tag_index.js'
import { SingleFlight } from '../util/single_flight.js'
import { CacheEvents } from './cache_events.js'
import type { CacheOptions, GetOrSetOptions } from './cache_options.js'
import { type CacheStats, StatsCounters } from './cache_stats.js'
import { ErrorReporter } from './error_reporter.js'
import { GraceBackoff } from './grace_backoff.js'
import { InvalidationEpochs } from './invalidation_epochs.js'
import { internalKey } from './key_space.js'
import { fillL1 } from './l1_fill.js'
import { L1Sync } from './l1_sync.js'
import { ReadPath } from './read_path.js'
import { RemoteTier } from './remote_tier.js'
import { type ResolvedDefaults, resolveCacheOptions } from './resolve_options.js'
import { TagSweeper } from './tag_sweeper.js'
import { TagTimes } from './tag_times.js'
import { deleteMatchingIn, WritePath } from './write_path.js'

/** Most tag times a process keeps in memory. */
const MAX_KNOWN_TAGS = 100_000

/**
 * One cache, shared by all its views (namespaces and profiles): it builds the parts from the
 * options and owns their lifecycle. What a read does lives in `ReadPath`, what a change does in
 * `WritePath`, what `getOrSet` does on a miss in `Loader`; this file only wires them together.
 */
export class CacheCore {
  /** Every read: L1, tag times, L2, the epoch guard, the L1 fill, the counts. */
  readonly reads: ReadPath
  /** Every change: entries, writes, fills, deletes, clears, tag invalidations, announcements. */
  readonly writes: WritePath
  readonly events = new CacheEvents()
  readonly errors: ErrorReporter
  readonly defaults: ResolvedDefaults
  /** In-flight factories of `getOrSet`, one per key. */
  readonly flights = new SingleFlight()
  /** In-flight background refreshes, one per key. */
  readonly refreshes = new SingleFlight()
  readonly backoff: GraceBackoff
  /** Named call defaults (`cache.profile`), shared by every view. */
  readonly profiles = new Map<string, GetOrSetOptions>()

  private readonly stats = new StatsCounters()
  private readonly l1: Store<CacheEntry> | undefined
  private readonly l1MaxTtlMs: number | undefined
  private readonly remote: RemoteTier | undefined
  private readonly sync: L1Sync | undefined
  private readonly tagIndex: TagIndex | undefined
  private readonly tagTimes: TagTimes | undefined
  private readonly sweeper: TagSweeper | undefined
  private readonly bus: Bus | undefined
  /** A fallback store with no L2 in front of it is never used, but it was given, so it is closed. */
  private readonly unusedFallback: Store<CacheEntry> | undefined
  private readonly started: Promise<void>
  private isClosed = false

  /** @param path the literal start of every store key of this cache, its namespaces included. */
  constructor(options: CacheOptions, path: string) {
    const resolved = resolveCacheOptions(options)
    const epochs = new InvalidationEpochs()
    this.defaults = resolved.defaults
    this.errors = new ErrorReporter(this.events, this.stats, resolved.throwErrors)
    this.backoff = new GraceBackoff(resolved.graceBackoffMs)
    this.l1 = options.l1
    this.l1MaxTtlMs = resolved.l1MaxTtlMs
    this.bus = options.bus
    this.tagIndex = options.tagIndex
    this.unusedFallback = options.l2 ? undefined : options.fallback
    this.remote =
      options.l2 &&
      new RemoteTier({
        store: options.l2,
        codec: resolved.codec!,
        fallback: options.fallback,
        timeoutMs: resolved.l2TimeoutMs,
        failureThreshold: resolved.breaker.failureThreshold,
        probeIntervalMs: resolved.breaker.probeIntervalMs,
        probeKey: internalKey(path, 'probe'),
        maxOutageKeys: resolved.maxOutageKeys,
        errors: this.errors,
        events: this.events,
        epochs,
      })
    this.tagTimes =
      options.tagIndex &&
      new TagTimes({
        index: options.tagIndex,
        trustMs: resolved.tagTrustMs,
        maxTags: MAX_KNOWN_TAGS,
        timeoutMs: resolved.l2TimeoutMs,
        report: (error) => this.errors.inBackground('invalidateTags', tagIndexFailure(error)),
      })
    this.sweeper =
      this.tagTimes &&
      resolved.tagCleanup &&
      new TagSweeper({
        l1: this.l1,
        remote: this.remote,
        tagTimes: this.tagTimes,
        pattern: `${escapeGlob(path)}*`,
        batchSize: resolved.tagCleanup.batchSize,
        pauseMs: resolved.tagCleanup.pauseMs,
        events: this.events,
        report: (error) => this.errors.inBackground('sweep', error),
      })
    this.reads = new ReadPath({
      l1: this.l1,
      l1MaxTtlMs: resolved.l1MaxTtlMs,
      remote: this.remote,
      tagTimes: this.tagTimes,
      epochs,
      stats: this.stats,
      events: this.events,
    })
    this.sync =
      options.bus &&
      new L1Sync({
        bus: options.bus,
        channel: `cachekit:l1:${path}`,
        l1: this.l1,
        root: path,
        epochs,
        errors: this.errors,
        deleteMatchingInL1: (pattern) => (this.l1 ? deleteMatchingIn(this.l1, pattern) : Promise.resolve(0)),
        tracking: resolved.tracking,
        onTags: (tags, at, lazy, indexed) => {
          this.tagTimes?.hear(tags, at, lazy, indexed)
          if (!lazy) this.sweeper?.schedule(false)
        },
        onSubscribed: () => this.tagTimes?.forgetAll(),
        onLoss: () => this.tagTimes?.forgetAll(),
      })
    this.writes = new WritePath({
      l1: this.l1,
      l1MaxTtlMs: resolved.l1MaxTtlMs,
      remote: this.remote,
      sync: this.sync,
      tagTimes: this.tagTimes,
      sweeper: this.sweeper,
      reads: this.reads,
      epochs,
      backoff: this.backoff,
      stats: this.stats,
      events: this.events,
      errors: this.errors,
      trackDependencies: resolved.trackDependencies,
      defaults: this.defaults,
    })
    // Writes do not wait for the subscription: publishing needs none, and a cache started while
    // Redis is down must still serve. The sync retries by itself and reports its failures.
    this.started = this.sync?.start() ?? Promise.resolve()
  }

  /** True once `close()` was called. */
  get closed(): boolean {
    return this.isClosed
  }

  /** Resolves after the first bus subscription attempt (immediately without a bus). */
  ready(): Promise<void> {
    return this.started
  }

  /** The distributed lock of L2, while L2 is in use. */
  get lock(): DistributedLock | undefined {
    return this.remote && !this.remote.usingFallback ? this.remote.lock : undefined
  }

  /** Store keys matching a store-level glob, from the shared tier (L2), or L1 when there is none. */
  scan(pattern: string): AsyncIterable<string> {
    if (this.remote) return this.remote.scan(pattern)
    if (this.l1) return this.l1.scan(pattern)
    return (async function* () {})()
  }

  /** Resolves when another process announces a write of `storeKey`, or after `ms` (no bus: `ms`). */
  waitForWrite(storeKey: string, ms: number): Promise<void> {
    if (this.sync) return this.sync.waitForWrite(storeKey, ms)
    return new Promise((resolve) => setTimeout(resolve, ms))
  }

  /** L1's fresh entries under the store-key prefix `path`, most recently used first (see `Cache.l1Entries`). */
  l1Entries(path: string): L1Entry[] {
    this.assertOpen()
    const listed = this.l1?.entries?.(path)
    if (!listed) return []
    const now = Date.now()
    const found: L1Entry[] = []
    for (const [storeKey, entry] of listed) if (isFresh(entry, now)) found.push({ storeKey, entry })
    return found
  }

  /**
   * Puts entries into L1 alone, least recently used first so L1 ends up in the order they were
   * listed in (see `Cache.restoreL1`). Everything is checked before anything is written.
   */
  async restoreL1(entries: readonly L1Entry[], path: string): Promise<number> {
    this.assertOpen()
    if (!Array.isArray(entries)) {
      throw new InvalidOptionError('[cachekit/core] restoreL1 takes an array of { storeKey, entry }')
    }
    for (const item of entries) checkL1Entry(item, path)
    const l1 = this.l1
    if (!l1) return 0
    let restored = 0
    for (let i = entries.length - 1; i >= 0; i--) {
      const { storeKey, entry } = entries[i]!
      if (!isFresh(entry)) continue
      // A copy in L1 was read from L2 or written here since this process started: it is newer.
      const held = l1.getSync ? l1.getSync(storeKey) : await l1.get(storeKey).catch(() => undefined)
      if (held !== undefined) continue
      await fillL1(l1, storeKey, entry, this.l1MaxTtlMs)
      restored++
    }
    return restored
  }

  /** Counters since creation, and whether the fallback is serving. */
  snapshot(): CacheStats {
    return this.stats.snapshot(this.remote?.usingFallback ?? false)
  }

  /** @throws CacheClosedError (`E_STORE_CLOSED`) after `close()`. */
  assertOpen(): void {
    if (this.isClosed) throw new CacheClosedError()
  }

  async close(): Promise<void> {
    if (this.isClosed) return
    this.isClosed = true
    this.events.emit('close', {})
    await this.started
    await this.sweeper?.stop()
    await this.tagTimes?.stop()
    await this.sync?.stop()
    // Every part the cache was given is closed, and closing one never stops the others: each
    // decides for itself (`closeClient`) whether the connection it was handed goes with it.
    const closing = await Promise.allSettled([
      this.l1?.close(),
      this.remote?.close(),
      this.tagIndex?.close?.(),
      this.bus?.close(),
      this.unusedFallback?.close(),
    ])
    const failures = closing.flatMap((result) => (result.status === 'rejected' ? [result.reason] : []))
    if (failures.length === 1) throw failures[0]
    if (failures.length > 1)
      throw new AggregateError(failures, '[cachekit/core] parts of the cache failed to close')
  }
}

/** An entry of L1 with the key the stores see, as `Cache.l1Entries` lists it and `Cache.restoreL1` takes it. */
export interface L1Entry {
  /** The key the stores see: the cache's prefix, the namespace path, then the key (as in events). */
  readonly storeKey: string
  /** The entry itself, with its own creation and expiry times and its (scoped) tags. */
  readonly entry: CacheEntry
}

function checkL1Entry(item: unknown, path: string): void {
  const { storeKey, entry } = (item ?? {}) as { storeKey?: unknown; entry?: Partial<CacheEntry> }
  if (typeof storeKey !== 'string' || !storeKey.startsWith(path)) {
    throw new InvalidOptionError(
      `[cachekit/core] restoreL1: ${JSON.stringify(storeKey)} is not a key of this cache (its keys start with ${JSON.stringify(path)})`,
    )
  }
  const valid =
    typeof entry === 'object' &&
    entry !== null &&
    'value' in entry &&
    typeof entry.createdAt === 'number' &&
    typeof entry.expiresAt === 'number' &&
    typeof entry.hardExpiresAt === 'number' &&
    entry.hardExpiresAt >= entry.expiresAt &&
    Array.isArray(entry.tags) &&
    entry.tags.every((tag) => typeof tag === 'string')
  if (!valid) {
    throw new InvalidOptionError(
      `[cachekit/core] restoreL1: the entry of ${JSON.stringify(storeKey)} is not a cache entry`,
      {
        key: storeKey,
      },
    )
  }
}

function tagIndexFailure(error: unknown): CacheError {
  return CacheError.isInstance(error) ? error : new StoreFailureError('tag-index', 'tags', { cause: error })
}

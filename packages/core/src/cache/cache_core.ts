import { parseDuration, parseOptionalDuration } from '../duration.js'
import { type CacheEntry, createEntry, isHardExpired } from '../entry.js'
import { CacheError, CodecEncodeError, InvalidOptionError, StoreFailureError } from '../errors.js'
import { escapeGlob } from '../glob.js'
import type { DistributedLock, Store } from '../store.js'
import { CacheEvents, type CacheOperation, type CacheTier } from './cache_events.js'
import type { CacheOptions, GetOrSetOptions, InvalidationStrategy, Ttl } from './cache_options.js'
import { StatsCounters } from './cache_stats.js'
import { writeClock } from './clock.js'
import { GraceBackoff } from './grace_backoff.js'
import { InvalidationEpochs } from './invalidation_epochs.js'
import { internalKey } from './key_space.js'
import { type L1Message, L1Sync } from './l1_sync.js'
import { RemoteTier, type WriteOutcome } from './remote_tier.js'
import { SingleFlight } from './single_flight.js'
import { dependencyTag, scopeTags } from './tag_names.js'
import { TagSweeper } from './tag_sweeper.js'
import { TAGS_INVALID, TAGS_VALID, TagTimes } from './tag_times.js'
import { checkTtl, resolveTtlMs } from './ttl_policy.js'
import { waitAtMost } from './with_timeout.js'

/**
 * Most keys an entry may depend on, directly or through its dependencies (which also bounds a chain
 * of dependencies to this depth). Dependencies are flattened when an entry is written, so each one
 * costs a tag on the entry and a lookup on reads that must read its tag times.
 */
export const MAX_DEPENDENCIES = 256

/** How long tag times read from the index are used without a bus to report changes, ms (`tagTimesMaxAge`). */
const TAG_TRUST_WITHOUT_BUS_MS = 1_000
/** Most keys per delete when reads drop invalidated entries from L2. */
const DROP_BATCH = 500
/** Most tag times a process keeps in memory. */
const MAX_KNOWN_TAGS = 100_000

/** Entries made stale by a lazy invalidation, so `getOrSet` serves them while it refreshes them. */
const lazilyInvalidated = new WeakSet<CacheEntry>()

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
  /** The literal start of every store key of this cache, its namespaces included. */
  readonly path: string
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
  readonly tagTimes: TagTimes | undefined
  readonly trackDependencies: boolean
  private readonly tagIndex: CacheOptions['tagIndex']
  private readonly bus: CacheOptions['bus']
  /** A fallback store with no L2 in front of it is never used, but it was given, so it is closed. */
  private readonly unusedFallback: CacheOptions['fallback']
  private readonly sweeper: TagSweeper | undefined
  private invalidatedRemoteKeys: string[] | undefined
  closed = false
  private readonly started: Promise<void>

  constructor(options: CacheOptions, path: string) {
    this.path = path
    this.l1 = options.l1
    this.l1MaxTtlMs = parseOptionalDuration(options.l1MaxTtl)
    this.throwErrors = options.throwErrors ?? false
    this.defaults = resolveDefaults(options)
    this.backoff = new GraceBackoff(parseDuration(options.graceBackoff ?? '5s'))
    this.remote = options.l2 ? this.createRemote(options, options.l2) : undefined
    if (!options.l1 && !options.l2) {
      throw new InvalidOptionError('[cachekit/core] a cache needs at least one tier: pass `l1`, `l2` or both')
    }
    this.tagIndex = options.tagIndex
    this.bus = options.bus
    this.unusedFallback = options.l2 ? undefined : options.fallback
    this.trackDependencies = options.trackDependencies ?? false
    if (this.trackDependencies && !options.tagIndex) {
      throw new InvalidOptionError('[cachekit/core] `trackDependencies` needs a `tagIndex`')
    }
    const tagTimesMaxAge = parseOptionalDuration(options.tagTimesMaxAge)
    this.tagTimes =
      options.tagIndex &&
      new TagTimes({
        index: options.tagIndex,
        trustMs: tagTimesMaxAge ?? (options.bus ? Number.POSITIVE_INFINITY : TAG_TRUST_WITHOUT_BUS_MS),
        maxTags: MAX_KNOWN_TAGS,
        timeoutMs: parseDuration(options.l2Timeout ?? '1s'),
        report: (error) => this.reportInBackground('invalidateTags', tagIndexFailure(error)),
      })
    this.sweeper = this.tagTimes && this.createSweeper(options.tagCleanup, this.tagTimes)
    this.sync =
      options.bus &&
      new L1Sync({
        bus: options.bus,
        channel: `cachekit:l1:${path}`,
        l1: this.l1,
        root: path,
        epochs: this.epochs,
        events: this.events,
        stats: this.stats,
        deleteMatchingInL1: (pattern) => (this.l1 ? deleteMatchingIn(this.l1, pattern) : Promise.resolve(0)),
        tracking: options.tracking ?? false,
        onTags: (tags, at, lazy, indexed) => {
          this.tagTimes?.hear(tags, at, lazy, indexed)
          if (!lazy) this.sweeper?.schedule(false)
        },
        onSubscribed: () => this.tagTimes?.forgetAll(),
        onLoss: () => this.tagTimes?.forgetAll(),
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
    if (
      entry === undefined ||
      (entry.expiresAt !== entry.hardExpiresAt && Date.now() >= entry.expiresAt) ||
      (entry.tags.length !== 0 && this.tagTimes?.check(entry) !== TAGS_VALID)
    ) {
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
    let now = Date.now()
    let local: CacheEntry | undefined
    if (this.l1) {
      local = this.l1.getSync ? this.l1.getSync(storeKey) : await this.l1.get(storeKey).catch(() => undefined)
      if (local && local.tags.length !== 0) {
        local = await this.judgeTags(local, storeKey, 'l1')
        now = Date.now() // judged against the clock of after the tag times were read
      }
      if (local && isHardExpired(local, now)) local = undefined
      if (local && now < local.expiresAt) return { entry: local, tier: 'l1' }
    }
    if (!this.remote) return local && { entry: local, tier: 'l1' }
    const readStartedAt = this.epochs.now()
    const hit = await this.remote.get(storeKey)
    let remote = hit?.entry
    if (remote && remote.tags.length !== 0) remote = await this.judgeTags(remote, storeKey, hit!.tier)
    if (remote && isHardExpired(remote)) remote = undefined
    if (remote && Date.now() < remote.expiresAt) {
      if (this.l1 && !this.epochs.changedSince(storeKey, readStartedAt)) await this.writeL1(storeKey, remote)
      return { entry: remote, tier: hit!.tier }
    }
    // Both stale (or missing): the newer of the two, for grace.
    if (local && (!remote || local.createdAt >= remote.createdAt)) return { entry: local, tier: 'l1' }
    return remote && { entry: remote, tier: hit!.tier }
  }

  /**
   * Applies tag invalidations to an entry read from `tier`: the entry itself while its tags stand,
   * `undefined` once one of them was invalidated (the copy is then deleted in the background), or a
   * stale copy when a tag was invalidated lazily. Tags unknown here are read from the index first.
   */
  async judgeTags(entry: CacheEntry, storeKey: string, tier: CacheTier): Promise<CacheEntry | undefined> {
    // A process without a tag index cannot tell; a miss is the safe answer.
    const verdict = this.tagTimes ? await this.tagTimes.checkResolved(entry) : TAGS_INVALID
    if (verdict === TAGS_VALID) return entry
    if (verdict !== TAGS_INVALID) return markStale(entry, verdict)
    if (this.tagTimes) this.dropInvalidated(storeKey, tier)
    return undefined
  }

  /** True for an entry `judgeTags` made stale: `getOrSet` serves it while one refresh runs. */
  isLazilyInvalidated(entry: CacheEntry): boolean {
    return lazilyInvalidated.has(entry)
  }

  /** Builds an entry for a write, from the call's options over the view's and the cache's defaults. */
  createEntry<T>(
    key: string,
    value: T,
    options: GetOrSetOptions<T>,
    now: number,
    root: string,
  ): CacheEntry<T> {
    const ttl = (options.ttl ?? this.defaults.ttl) as Ttl<T>
    const graceMs = options.grace === undefined ? this.defaults.graceMs : parseGrace(options.grace)
    const given = typeof options.tags === 'function' ? options.tags(value) : options.tags
    const tags = given === undefined || given.length === 0 ? undefined : scopeTags(root, given)
    if (tags && !this.tagTimes) {
      throw new InvalidOptionError(
        '[cachekit/core] tags need a `tagIndex` option: redisTagIndex() from @cachekit/redis, or memoryTagIndex() from @cachekit/memory',
      )
    }
    return createEntry(value, { now, ttlMs: resolveTtlMs(ttl, value, key, now), graceMs, tags })
  }

  /**
   * Adds to an entry the tags of the keys it depends on: each key's own dependency tag, plus the
   * tags its cached entry carries (its tags and, flattened, its own dependencies). Invalidating any
   * of them then reaches this entry in O(1), however long the chain; cycles end by themselves since
   * each key is taken once.
   * @throws InvalidOptionError without `trackDependencies`, or past `MAX_DEPENDENCIES` keys.
   */
  async withDependencies<T>(
    entry: CacheEntry<T>,
    storeKey: string,
    keys: readonly string[],
    root: string,
  ): Promise<CacheEntry<T>> {
    if (!this.trackDependencies) {
      throw new InvalidOptionError(
        '[cachekit/core] `dependsOn` needs the cache option `trackDependencies: true`',
      )
    }
    if (!Array.isArray(keys) || keys.some((key) => typeof key !== 'string' || key === '')) {
      throw new InvalidOptionError('[cachekit/core] dependsOn must be an array of non-empty keys')
    }
    const storeKeys = keys.map((key) => root + key)
    const found = await Promise.all(storeKeys.map((storeKey) => this.find(storeKey)))
    const tags = new Set(entry.tags)
    for (const [i, dependency] of storeKeys.entries()) {
      tags.add(dependencyTag(dependency))
      for (const tag of found[i]?.entry.tags ?? []) tags.add(tag)
    }
    // In a cycle the key inherits its own tag; writing it would then invalidate it at once.
    tags.delete(dependencyTag(storeKey))
    let dependencies = 0
    for (const tag of tags) if (tag.startsWith(DEPENDENCY_TAG_START)) dependencies++
    if (dependencies > MAX_DEPENDENCIES) {
      throw new InvalidOptionError(
        `[cachekit/core] an entry may depend on at most ${MAX_DEPENDENCIES} keys, directly or not; this one depends on ${dependencies}`,
      )
    }
    return { ...entry, tags: [...tags] }
  }

  /** Writes entries to every tier, then announces them. Cache failures are reported, not thrown. */
  async write(writes: readonly PendingWrite[], operation: CacheOperation): Promise<void> {
    await this.startWrite(writes, operation, false).landed
  }

  /**
   * Caches a factory's value without making the caller wait on L2: resolves once L1 has the entry
   * (so this process's next read hits), with `landed`, which settles once L2 and the bus have it too
   * or failed to (reported, never thrown, even with `throwErrors`: nobody waits on it). The write is
   * marked and sent to L2 before this resolves, so a later `set` or `delete` of the key from this
   * process reaches L2 after it and wins, and reads in flight do not copy an older value into L1.
   */
  async fill(write: PendingWrite): Promise<{ landed: Promise<void> }> {
    const { local, landed } = this.startWrite([write], 'set', true)
    const quiet = landed.catch(() => undefined)
    await local
    return { landed: quiet }
  }

  /**
   * Starts a write on every tier: `local` settles when L1 has it, `landed` when L2 does and the change
   * was announced (rejecting only with `throwErrors`). L2 is called first and synchronously, which is
   * what keeps this process's writes and deletes of one key in order in L2.
   * `fill` marks a write of what a factory produced on a miss: with dependencies tracked, only other
   * writes (`set`, `setMany`) count as a change of the key that invalidates its dependents, since a
   * fill follows an expiry, which does not invalidate them either.
   */
  private startWrite(
    writes: readonly PendingWrite[],
    operation: CacheOperation,
    fill: boolean,
  ): { local: Promise<unknown>; landed: Promise<void> } {
    const startedAt = Date.now()
    const remoteWrites: Array<{ key: string; entry: CacheEntry; bytes: Uint8Array }> = []
    const accepted: PendingWrite[] = []
    for (const write of writes) {
      const bytes = this.encodeFor(write, operation)
      if (bytes === null) continue
      accepted.push(write)
      if (bytes) remoteWrites.push({ key: write.storeKey, entry: write.entry, bytes })
    }
    if (accepted.length === 0) return { local: Promise.resolve(), landed: Promise.resolve() }
    const storeKeys = accepted.map((write) => write.storeKey)
    this.epochs.markKeys(storeKeys)
    const since = this.epochs.now()
    for (const key of storeKeys) this.backoff.clear(key)
    const changedAt = this.trackDependencies && !fill ? writeClock() : undefined
    const remote = this.writeRemote(remoteWrites, since)
    const local = Promise.all(accepted.map((write) => this.writeL1(write.storeKey, write.entry)))
    const indexed =
      changedAt !== undefined
        ? this.tagTimes!.invalidate(storeKeys.map(dependencyTag), changedAt, false)
        : Promise.resolve(false)
    const landed = this.finishWrite(
      storeKeys,
      remote,
      local,
      indexed,
      changedAt,
      fill ? undefined : startedAt,
    )
    return { local, landed }
  }

  /**
   * The rest of a write once the tiers answered: drops the L1 copies of what L2 refused, announces the
   * change, counts it. The announcement waits for L2, so other processes never re-read the old value
   * after dropping their copy; a caller (`startedAt`) waits for it only within what is left of one
   * L2 timeout, so a hung Redis costs it one timeout, not two. It is sent in any case.
   */
  private async finishWrite(
    storeKeys: string[],
    remote: Promise<WriteOutcome | undefined>,
    local: Promise<unknown>,
    indexed: Promise<boolean>,
    changedAt: number | undefined,
    startedAt: number | undefined,
  ): Promise<void> {
    const [outcome, , wasIndexed] = await Promise.all([remote, local, indexed])
    const refused = outcome?.refused ?? []
    if (refused.length > 0) {
      // Not cached: the L1 copy written alongside L2 goes too, and a read that started before this
      // must not copy an older value back.
      this.epochs.markKeys(refused)
      await this.l1?.delete(refused).catch(() => undefined)
    }
    const published = this.sync?.publish(changeMessage('write', storeKeys, changedAt, wasIndexed))
    if (published) await waitAtMost(published, this.remainingWait(startedAt))
    const written = refused.length === 0 ? storeKeys : storeKeys.filter((key) => !refused.includes(key))
    this.stats.sets += written.length
    if (this.events.has('set')) for (const key of written) this.events.emit('set', { key })
    if (outcome?.error && this.throwErrors) throw outcome.error
  }

  private async writeRemote(
    writes: Array<{ key: string; entry: CacheEntry; bytes: Uint8Array }>,
    since: number,
  ): Promise<WriteOutcome | undefined> {
    if (!this.remote || writes.length === 0) return undefined
    if (writes.length === 1) return this.remote.set(writes[0]!.key, writes[0]!.entry, writes[0]!.bytes, since)
    return this.remote.setMany(writes, since)
  }

  /** What is left of one L2 timeout for a call that started at `startedAt` (forever without one). */
  private remainingWait(startedAt: number | undefined): number {
    const timeoutMs = this.remote?.timeoutMs ?? 0
    if (startedAt === undefined || timeoutMs <= 0) return Number.POSITIVE_INFINITY
    return timeoutMs - (Date.now() - startedAt)
  }

  /** Deletes keys from every tier, then announces it; resolves with how many existed. */
  async delete(storeKeys: readonly string[]): Promise<number> {
    const startedAt = Date.now()
    this.epochs.markKeys(storeKeys)
    const changedAt = this.trackDependencies ? writeClock() : undefined
    const [localCount, remoteCount, indexed] = await Promise.all([
      this.l1?.delete(storeKeys),
      this.remote?.delete(storeKeys),
      changedAt !== undefined && this.tagTimes!.invalidate(storeKeys.map(dependencyTag), changedAt, false),
    ])
    const published = this.sync?.publish(changeMessage('delete', [...storeKeys], changedAt, indexed))
    if (published) await waitAtMost(published, this.remainingWait(startedAt))
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
    // With dependencies tracked, the dependents of every key deleted are invalidated, batch by batch.
    const onDeleted = this.trackDependencies ? (keys: string[]) => this.keysChanged(keys) : undefined
    const local = this.l1
      ? deleteMatchingIn(this.l1, storePattern, this.remote ? undefined : onDeleted)
      : Promise.resolve(0)
    const [localCount, remoteCount] = await Promise.all([
      local,
      this.remote?.deleteMatching(storePattern, onDeleted),
    ])
    await this.sync?.publish({ op: 'match', pattern: storePattern })
    return remoteCount ?? localCount
  }

  /** Invalidates the dependents of keys changed in bulk, here, in the index and on the bus. */
  private async keysChanged(storeKeys: readonly string[]): Promise<void> {
    const tags = storeKeys.map(dependencyTag)
    const at = writeClock()
    const indexed = await this.tagTimes!.invalidate(tags, at, false)
    await this.sync?.publish(tagsMessage(tags, at, false, indexed))
  }

  /**
   * Invalidates already-scoped tags (see `InvalidationStrategy`): recorded here at once, then in the
   * tag index, then announced on the bus so other processes apply it to their L1 within one round
   * trip. O(1) in the number of tagged entries; a background sweep gives their memory back later.
   */
  async invalidateTags(tags: readonly string[], strategy: InvalidationStrategy): Promise<void> {
    if (!this.tagTimes) {
      throw new InvalidOptionError(
        '[cachekit/core] invalidateTags needs a `tagIndex` option: redisTagIndex() from @cachekit/redis, or memoryTagIndex() from @cachekit/memory',
      )
    }
    if (tags.length === 0) return
    if (strategy !== 'ttl') {
      const at = writeClock()
      const lazy = strategy === 'lazy'
      const indexed = await this.tagTimes.invalidate(tags, at, lazy)
      await this.sync?.publish(tagsMessage([...tags], at, lazy, indexed))
      if (!lazy) this.sweeper?.schedule(true)
    }
    if (this.events.has('tags:invalidate')) this.events.emit('tags:invalidate', { tags: [...tags], strategy })
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

  /**
   * Bytes for L2, `undefined` without L2, or `null` when the codec refused the value (too large, or
   * of a type it cannot encode). A refused value must not leave an older copy behind to be served
   * as if the write had happened, so the key is deleted from every tier.
   */
  private encodeFor(write: PendingWrite, operation: CacheOperation): Uint8Array | undefined | null {
    if (!this.remote) return undefined
    try {
      return this.remote.encode(write.storeKey, write.entry)
    } catch (error) {
      void this.l1?.delete([write.storeKey]).catch(() => undefined)
      void this.remote.delete([write.storeKey])
      this.report(operation, error, write.storeKey)
      return null
    }
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

  private createSweeper(cleanup: CacheOptions['tagCleanup'], tagTimes: TagTimes): TagSweeper | undefined {
    if (cleanup === false) return undefined
    const batchSize = cleanup?.batchSize ?? 500
    if (!Number.isInteger(batchSize) || batchSize < 1) {
      throw new InvalidOptionError('[cachekit/core] tagCleanup.batchSize must be a positive integer')
    }
    return new TagSweeper({
      l1: this.l1,
      remote: this.remote,
      tagTimes,
      pattern: `${escapeGlob(this.path)}*`,
      batchSize,
      pauseMs: parseDuration(cleanup?.pause ?? '10ms'),
      events: this.events,
      report: (error) => this.reportInBackground('sweep', error),
    })
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
      probeKey: internalKey(this.path, 'probe'),
      maxOutageKeys: options.maxOutageKeys ?? 100_000,
      throwErrors: this.throwErrors,
      events: this.events,
      stats: this.stats,
      epochs: this.epochs,
    })
  }
}

function resolveDefaults(options: CacheOptions): ResolvedDefaults {
  checkTtl(options.ttl)
  if (
    options.maxOutageKeys !== undefined &&
    !(Number.isSafeInteger(options.maxOutageKeys) && options.maxOutageKeys >= 0)
  ) {
    throw new InvalidOptionError('[cachekit/core] maxOutageKeys must be a non-negative integer')
  }
  const hardMs = parseOptionalDuration(options.timeouts?.hard)
  const refreshAhead = options.refreshAhead === false ? undefined : options.refreshAhead
  return {
    ttl: options.ttl ?? '1h',
    graceMs: parseGrace(options.grace),
    softMs: parseOptionalDuration(options.timeouts?.soft),
    hardMs,
    lock: checkLock(options.lock) ?? 'local',
    lockTtlMs: parseDuration(options.lockTtl ?? hardMs ?? '10s'),
    refreshAhead: checkRefreshAhead(refreshAhead),
  }
}

export function parseGrace(grace: GetOrSetOptions['grace']): number {
  return grace === undefined || grace === false ? 0 : parseDuration(grace)
}

/** @throws InvalidOptionError for a lock other than `local` or `distributed`. */
export function checkLock(lock: GetOrSetOptions['lock']): GetOrSetOptions['lock'] {
  if (lock === undefined || lock === 'local' || lock === 'distributed') return lock
  throw new InvalidOptionError(`[cachekit/core] lock must be 'local' or 'distributed', got ${String(lock)}`)
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

export async function deleteMatchingIn(
  store: Store<CacheEntry>,
  pattern: string,
  onDeleted?: (keys: string[]) => Promise<void>,
): Promise<number> {
  const keys: string[] = []
  for await (const key of store.scan(pattern)) keys.push(key)
  if (keys.length === 0) return 0
  const count = await store.delete(keys)
  await onDeleted?.(keys)
  return count
}

const DEPENDENCY_TAG_START = dependencyTag('')

/** A write or delete announcement; `at` when dependencies are tracked (their tags moved then). */
function changeMessage(
  op: 'write' | 'delete',
  keys: string[],
  at: number | undefined,
  indexed: boolean,
): L1Message {
  if (at === undefined) return { op, keys }
  return indexed ? { op, keys, at } : { op, keys, at, unindexed: true }
}

function tagsMessage(tags: string[], at: number, lazy: boolean, indexed: boolean): L1Message {
  return indexed ? { op: 'tags', tags, at, lazy } : { op: 'tags', tags, at, lazy, unindexed: true }
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
  const stale: CacheEntry = {
    value: entry.value,
    createdAt: entry.createdAt,
    expiresAt: Math.min(entry.expiresAt, since),
    hardExpiresAt: Math.min(entry.hardExpiresAt, since + grace),
    tags: entry.tags,
  }
  lazilyInvalidated.add(stale)
  return stale
}

function tagIndexFailure(error: unknown): CacheError {
  return CacheError.isInstance(error) ? error : new StoreFailureError('tag-index', 'tags', { cause: error })
}

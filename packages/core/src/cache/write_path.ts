import type { CacheEntry } from '../entry.js'
import { createEntry } from '../entry.js'
import { InvalidOptionError } from '../errors.js'
import type { Store } from '../store.js'
import { inBatches } from '../util/in_batches.js'
import { waitAtMost } from '../util/with_timeout.js'
import type { CacheEvents, CacheOperation } from './cache_events.js'
import type { GetOrSetOptions, InvalidationStrategy, Ttl } from './cache_options.js'
import type { StatsCounters } from './cache_stats.js'
import { writeClock } from './clock.js'
import type { ErrorReporter } from './error_reporter.js'
import type { GraceBackoff } from './grace_backoff.js'
import type { InvalidationEpochs } from './invalidation_epochs.js'
import { fillL1 } from './l1_fill.js'
import type { L1Message, L1Sync } from './l1_sync.js'
import type { ReadPath } from './read_path.js'
import type { RemoteTier, WriteOutcome } from './remote_tier.js'
import { parseGrace } from './resolve_options.js'
import { dependencyTag, scopeTags } from './tag_names.js'
import type { TagSweeper } from './tag_sweeper.js'
import type { TagTimes } from './tag_times.js'
import { resolveTtlMs } from './ttl_policy.js'

/**
 * Most keys an entry may depend on, directly or through its dependencies (which also bounds a chain
 * of dependencies to this depth). Dependencies are flattened when an entry is written, so each one
 * costs a tag on the entry and a lookup on reads that must read its tag times.
 */
export const MAX_DEPENDENCIES = 256

/** A write the core applies to every tier. */
export interface PendingWrite {
  storeKey: string
  entry: CacheEntry
}

/** Most keys per delete of a pattern in L1. */
const DELETE_BATCH = 500

/** What the write path works with, shared with the rest of the cache. */
export interface WritePathParts {
  l1: Store<CacheEntry> | undefined
  l1MaxTtlMs: number | undefined
  remote: RemoteTier | undefined
  sync: L1Sync | undefined
  tagTimes: TagTimes | undefined
  sweeper: TagSweeper | undefined
  reads: ReadPath
  epochs: InvalidationEpochs
  backoff: GraceBackoff
  stats: StatsCounters
  events: CacheEvents
  errors: ErrorReporter
  trackDependencies: boolean
  defaults: { ttl: Ttl; graceMs: number }
}

/**
 * Every change the cache makes: building entries (TTL, grace, tags, dependencies), `set`,
 * `setMany`, the fills of `getOrSet`, `delete`, `deleteMatching`, `clear` and `invalidateTags`, each
 * with its bus announcement, its dependency tags and its epoch marks (which keep reads in flight
 * from copying an older value into L1).
 */
export class WritePath {
  private readonly l1: Store<CacheEntry> | undefined
  private readonly l1MaxTtlMs: number | undefined
  private readonly remote: RemoteTier | undefined
  private readonly sync: L1Sync | undefined
  private readonly tagTimes: TagTimes | undefined
  private readonly sweeper: TagSweeper | undefined
  private readonly reads: ReadPath
  private readonly epochs: InvalidationEpochs
  private readonly backoff: GraceBackoff
  private readonly stats: StatsCounters
  private readonly events: CacheEvents
  private readonly errors: ErrorReporter
  private readonly trackDependencies: boolean
  private readonly defaults: { ttl: Ttl; graceMs: number }

  constructor(parts: WritePathParts) {
    this.l1 = parts.l1
    this.l1MaxTtlMs = parts.l1MaxTtlMs
    this.remote = parts.remote
    this.sync = parts.sync
    this.tagTimes = parts.tagTimes
    this.sweeper = parts.sweeper
    this.reads = parts.reads
    this.epochs = parts.epochs
    this.backoff = parts.backoff
    this.stats = parts.stats
    this.events = parts.events
    this.errors = parts.errors
    this.trackDependencies = parts.trackDependencies
    this.defaults = parts.defaults
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
    const found = await Promise.all(storeKeys.map((storeKey) => this.reads.read(storeKey)))
    const tags = new Set(entry.tags)
    for (const [i, dependency] of storeKeys.entries()) {
      tags.add(dependencyTag(dependency))
      const read = found[i]!
      if (read.state !== 'miss') for (const tag of read.entry.tags) tags.add(tag)
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
  write(writes: readonly PendingWrite[], operation: CacheOperation): Promise<void> {
    return this.startWrite(writes, operation, false).landed
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
    // Only a bus announcement waits against the clock (remainingWait); a clock read costs ~40 ns.
    const startedAt = !fill && this.sync ? Date.now() : undefined
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
    const local = this.l1 ? this.writeLocal(this.l1, accepted) : NOTHING
    const indexed =
      changedAt !== undefined
        ? this.tagTimes!.invalidate(storeKeys.map(dependencyTag), changedAt, false)
        : NOT_INDEXED
    const landed = this.finishWrite(storeKeys, remote, local, indexed, changedAt, startedAt)
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
    // Most writes have no L1 or dependency part to wait for: one await then, not a Promise.all of three.
    const [outcome, , wasIndexed] =
      local === NOTHING && indexed === NOT_INDEXED
        ? [await remote, undefined, false]
        : await Promise.all([remote, local, indexed])
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
    if (outcome?.error && this.errors.throwErrors) throw outcome.error
  }

  private writeRemote(
    writes: Array<{ key: string; entry: CacheEntry; bytes: Uint8Array }>,
    since: number,
  ): Promise<WriteOutcome | undefined> {
    if (!this.remote || writes.length === 0) return NO_OUTCOME
    if (writes.length === 1) return this.remote.set(writes[0]!.key, writes[0]!.entry, writes[0]!.bytes, since)
    return this.remote.setMany(writes, since)
  }

  private writeLocal(l1: Store<CacheEntry>, writes: readonly PendingWrite[]): Promise<unknown> {
    if (writes.length === 1) return fillL1(l1, writes[0]!.storeKey, writes[0]!.entry, this.l1MaxTtlMs)
    return Promise.all(writes.map((write) => fillL1(l1, write.storeKey, write.entry, this.l1MaxTtlMs)))
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
      this.errors.report(operation, error, write.storeKey)
      return null
    }
  }
}

/**
 * Deletes the keys of a local store matching a glob, in batches as in L2, so a pattern over a large
 * L1 never holds every key in memory at once; `onDeleted` hears each batch.
 */
export async function deleteMatchingIn(
  store: Store<CacheEntry>,
  pattern: string,
  onDeleted?: (keys: string[]) => Promise<void>,
): Promise<number> {
  let count = 0
  for await (const batch of inBatches(store.scan(pattern), DELETE_BATCH)) {
    count += await store.delete(batch)
    await onDeleted?.(batch)
  }
  return count
}

const DEPENDENCY_TAG_START = dependencyTag('')

/** Settled parts of a write, shared so that the common write allocates and awaits none of them. */
const NOTHING: Promise<unknown> = Promise.resolve()
const NOT_INDEXED: Promise<boolean> = Promise.resolve(false)
const NO_OUTCOME: Promise<WriteOutcome | undefined> = Promise.resolve(undefined)

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

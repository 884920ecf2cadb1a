import type { Duration } from '../duration.js'
import { type CacheEntry, createEntry, storeTtlMs } from '../entry.js'
import { CacheError, InvalidOptionError } from '../errors.js'
import type { CacheCore } from './cache_core.js'
import type { CacheEventName, CacheListener, CacheOperation } from './cache_events.js'
import type { Factory, FactoryContext, SetManyItem, WrapOptions, WriteOptions } from './cache_options.js'
import type { CacheStats } from './cache_stats.js'
import type { KeySpace } from './key_space.js'
import type { RemoteHit } from './remote_tier.js'
import { resolveTtlMs } from './ttl_policy.js'

/**
 * A cache: L1 in memory in front of L2 shared between processes, behind one API. Namespaces and
 * profiles are views of the same cache: they share stores, statistics and events, and differ in the
 * keys they address (`namespace`) or the defaults of their writes (`profile`).
 */
export class Cache {
  /** @internal Use `createCache`. */
  constructor(
    private readonly core: CacheCore,
    private readonly space: KeySpace,
    private readonly defaults: WriteOptions,
  ) {}

  /** The value under `key` while it is fresh, else `undefined`. Never throws a cache failure. */
  async get<T = unknown>(key: string): Promise<T | undefined> {
    const storeKey = this.space.root + key
    const local = this.readL1(storeKey)
    if (local !== undefined) return local.value as T
    return (await this.readRemote(storeKey))?.value as T | undefined
  }

  /** True when a fresh value is cached under `key`; the value is not decoded. */
  async has(key: string): Promise<boolean> {
    const storeKey = this.space.root + key
    if (this.readL1(storeKey, false) !== undefined) return true
    const header = await this.core.remote?.getHeader(storeKey)
    return header !== undefined && Date.now() < header.expiresAt
  }

  /** Values for several keys, in order; one round trip to L2 for all L1 misses. */
  async getMany<T = unknown>(keys: readonly string[]): Promise<Array<T | undefined>> {
    const storeKeys = keys.map((key) => this.space.root + key)
    const values: Array<T | undefined> = new Array(keys.length)
    const missing: number[] = []
    for (const [i, storeKey] of storeKeys.entries()) {
      const local = this.readL1(storeKey)
      if (local === undefined) missing.push(i)
      else values[i] = local.value as T
    }
    const remote = this.core.remote
    if (missing.length === 0) return values
    if (!remote) {
      this.countMisses(missing.map((i) => storeKeys[i]!))
      return values
    }
    const hits = await remote.getMany(missing.map((i) => storeKeys[i]!))
    const now = Date.now()
    const copies: Array<Promise<void>> = []
    for (const [j, hit] of hits.entries()) {
      const storeKey = storeKeys[missing[j]!]!
      if (hit && now < hit.entry.expiresAt) {
        this.countRemoteHit(storeKey, hit)
        values[missing[j]!] = hit.entry.value as T
        copies.push(this.writeL1(storeKey, hit.entry))
      } else {
        this.countMisses([storeKey])
      }
    }
    await Promise.all(copies)
    return values
  }

  /** Caches a value. Cache failures are emitted as `error`, not thrown (see `throwErrors`). */
  async set<T>(key: string, value: T, options?: WriteOptions<T>): Promise<void> {
    this.assertOpen()
    await this.write(key, value, options, 'set')
  }

  /** Caches several values; one round trip to L2. */
  async setMany<T>(items: ReadonlyArray<SetManyItem<T>>): Promise<void> {
    this.assertOpen()
    const now = Date.now()
    const local: Array<{ key: string; entry: CacheEntry }> = []
    const remote: Array<{ key: string; entry: CacheEntry; bytes: Uint8Array }> = []
    for (const item of items) {
      const storeKey = this.space.root + item.key
      const entry = this.createEntry(item.key, item.value, item, now)
      const bytes = this.encodeFor(storeKey, entry, 'setMany')
      if (bytes === null) continue
      local.push({ key: storeKey, entry })
      if (bytes) remote.push({ key: storeKey, entry, bytes })
    }
    await Promise.all(local.map(({ key, entry }) => this.writeL1(key, entry)))
    if (remote.length > 0) await this.core.remote!.setMany(remote)
    this.countSets(local.map(({ key }) => key))
  }

  /**
   * The cached value under `key`, or the factory's result, cached. In this process, concurrent
   * callers for one key share a single factory call. Cache failures never reach the caller: with L2
   * down the factory still runs and its value is returned. The factory's own errors do reach it.
   */
  async getOrSet<T>(key: string, factory: Factory<T>, options?: WriteOptions<T>): Promise<T> {
    const storeKey = this.space.root + key
    const local = this.readL1(storeKey)
    if (local !== undefined) return local.value as T
    return this.core.flights.run(storeKey, async () => {
      const hit = await this.readRemote(storeKey)
      if (hit) return hit.value as T
      const context = new FactoryRun(key)
      const value = await factory(context)
      if (!context.skipped) {
        const ttl = context.ttl === undefined ? options : { ...options, ttl: context.ttl }
        await this.write(key, value, ttl, 'set')
      }
      return value
    })
  }

  /**
   * Caches a function: calls with the same key share one cached result.
   * @example const findUser = cache.wrap(db.findUser, { key: (id) => `user:${id}`, ttl: '5m' })
   */
  wrap<Args extends unknown[], R>(
    fn: (...args: Args) => R | Promise<R>,
    options: WrapOptions<Args, R> = {},
  ): (...args: Args) => Promise<R> {
    const keyOf = options.key ?? defaultWrapKey(fn)
    const { key: _key, ...writeOptions } = options
    return (...args: Args) => this.getOrSet(keyOf(...args), () => fn(...args), writeOptions)
  }

  /** Deletes a key from every tier; true when it existed. */
  async delete(key: string): Promise<boolean> {
    return (await this.deleteMany([key])) > 0
  }

  /** Deletes keys from every tier; resolves with how many existed. */
  async deleteMany(keys: readonly string[]): Promise<number> {
    this.assertOpen()
    if (keys.length === 0) return 0
    const storeKeys = keys.map((key) => this.space.root + key)
    const [localCount, remoteCount] = await Promise.all([
      this.core.l1?.delete(storeKeys),
      this.core.remote?.delete(storeKeys),
    ])
    this.core.stats.deletes += keys.length
    if (this.core.events.has('delete')) for (const key of storeKeys) this.core.events.emit('delete', { key })
    return remoteCount ?? localCount ?? 0
  }

  /**
   * Deletes the keys of this cache (or namespace) matching a Redis glob, from every tier, with SCAN
   * and batched deletes, never KEYS. The namespace prefix is escaped, so only the pattern is a glob.
   */
  async deleteMatching(pattern: string): Promise<number> {
    this.assertOpen()
    const storePattern = this.space.patternOf(pattern)
    const local = this.core.l1 ? deleteMatchingIn(this.core.l1, storePattern) : Promise.resolve(0)
    const [localCount, remoteCount] = await Promise.all([
      local,
      this.core.remote?.deleteMatching(storePattern),
    ])
    return remoteCount ?? localCount
  }

  /** Deletes every key of this cache or namespace, and nothing outside it. */
  async clear(): Promise<void> {
    this.assertOpen()
    const prefix = this.space.root
    await Promise.all([this.core.l1?.clear(prefix), this.core.remote?.clear(prefix)])
    this.core.events.emit('clear', { prefix })
  }

  /** A view whose keys live under `name`, isolated from every other namespace (tenant, user, region). */
  namespace(name: string): Cache {
    return new Cache(this.core, this.space.child(name), this.defaults)
  }

  /**
   * A view with named defaults for one kind of data. Define it once with options; later calls with
   * the name alone return the same defaults.
   * @example cache.profile('permissions', { ttl: '5m' }).getOrSet(`perm:${id}`, load)
   */
  profile(name: string, defaults?: WriteOptions): Cache {
    if (defaults) this.core.profiles.set(name, defaults)
    const known = this.core.profiles.get(name)
    if (!known)
      throw new InvalidOptionError(`[cachekit/core] unknown profile "${name}": define it with options first`)
    return new Cache(this.core, this.space, { ...this.defaults, ...known })
  }

  /** Listens to an event; returns a function that stops listening. */
  on<E extends CacheEventName>(event: E, listener: CacheListener<E>): () => void {
    return this.core.events.on(event, listener)
  }

  /** Stops a listener. */
  off<E extends CacheEventName>(event: E, listener: CacheListener<E>): void {
    this.core.events.off(event, listener)
  }

  /** Counters since creation, and whether the fallback is serving. */
  stats(): CacheStats {
    return this.core.stats.snapshot(this.core.remote?.usingFallback ?? false)
  }

  /** Closes the cache and the stores it was given; shared by every view of it. */
  close(): Promise<void> {
    return this.core.close()
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close()
  }

  /** A fresh L1 entry, counted as a hit; `undefined` (counted only if `count`) otherwise. */
  private readL1(storeKey: string, count = true): CacheEntry | undefined {
    const l1 = this.core.l1
    if (!l1?.getSync) return undefined
    const entry = l1.getSync(storeKey)
    if (entry === undefined || Date.now() >= entry.expiresAt) {
      if (count) this.core.stats.tiers.l1.misses++
      return undefined
    }
    if (count) {
      const stats = this.core.stats
      stats.hits++
      stats.tiers.l1.hits++
      if (this.core.events.has('hit')) this.core.events.emit('hit', { key: storeKey, tier: 'l1' })
    }
    return entry
  }

  /**
   * Reads what `readL1` could not: an L1 without `getSync`, then L2 (or the fallback), and copies
   * a fresh remote hit into L1.
   */
  private async readRemote(storeKey: string): Promise<CacheEntry | undefined> {
    const { l1, remote, stats, events } = this.core
    if (l1 && !l1.getSync) {
      const entry = await l1.get(storeKey).catch(() => undefined)
      if (entry && Date.now() < entry.expiresAt) {
        stats.hits++
        stats.tiers.l1.hits++
        if (events.has('hit')) events.emit('hit', { key: storeKey, tier: 'l1' })
        return entry
      }
      stats.tiers.l1.misses++
    }
    const hit = remote ? await remote.get(storeKey) : undefined
    if (!hit || Date.now() >= hit.entry.expiresAt) {
      this.countMisses([storeKey])
      return undefined
    }
    this.countRemoteHit(storeKey, hit)
    if (l1) await this.writeL1(storeKey, hit.entry)
    return hit.entry
  }

  private async write<T>(
    key: string,
    value: T,
    options: WriteOptions<T> | undefined,
    operation: CacheOperation,
  ) {
    const storeKey = this.space.root + key
    const entry = this.createEntry(key, value, options, Date.now())
    const bytes = this.encodeFor(storeKey, entry, operation)
    if (bytes === null) return
    await this.writeL1(storeKey, entry)
    if (bytes) await this.core.remote!.set(storeKey, entry, bytes)
    this.countSets([storeKey])
  }

  private createEntry<T>(
    key: string,
    value: T,
    options: WriteOptions<T> | undefined,
    now: number,
  ): CacheEntry {
    const ttl = options?.ttl ?? (this.defaults.ttl as WriteOptions<T>['ttl']) ?? this.core.defaultTtl
    return createEntry(value, { now, ttlMs: resolveTtlMs(ttl, value, key, now) })
  }

  /**
   * Bytes for L2, `undefined` without L2, or `null` when the codec refused the value (too large, or
   * of a type it cannot encode). A refused value must not leave an older copy behind to be served
   * as if the write had happened, so the key is deleted from every tier.
   */
  private encodeFor(
    storeKey: string,
    entry: CacheEntry,
    operation: CacheOperation,
  ): Uint8Array | undefined | null {
    const remote = this.core.remote
    if (!remote) return undefined
    try {
      return remote.encode(entry)
    } catch (error) {
      void this.core.l1?.delete([storeKey]).catch(() => undefined)
      void remote.delete([storeKey])
      this.reportRefusal(error, operation, storeKey)
      return null
    }
  }

  private async writeL1(storeKey: string, entry: CacheEntry): Promise<void> {
    const l1 = this.core.l1
    if (!l1) return
    const ttl = storeTtlMs(entry)
    const max = this.core.l1MaxTtlMs
    const l1Ttl = max === undefined ? ttl : Math.min(ttl ?? max, max)
    // An L1 refusal (a value above its byte bound) only costs a later L2 read.
    await l1.set(storeKey, entry, l1Ttl).catch(() => undefined)
  }

  private reportRefusal(error: unknown, operation: CacheOperation, key: string): void {
    const typed = CacheError.isInstance(error)
      ? error
      : new InvalidOptionError(`[cachekit/core] the value under "${key}" cannot be cached`, {
          key,
          cause: error,
        })
    this.core.stats.errors++
    this.core.events.emit('error', { error: typed, operation, key })
    if (this.core.throwErrors) throw typed
  }

  private countRemoteHit(storeKey: string, hit: RemoteHit): void {
    const stats = this.core.stats
    stats.hits++
    stats.tiers[hit.tier].hits++
    if (this.core.events.has('hit')) this.core.events.emit('hit', { key: storeKey, tier: hit.tier })
  }

  private countMisses(storeKeys: readonly string[]): void {
    const stats = this.core.stats
    stats.misses += storeKeys.length
    if (this.core.remote)
      stats.tiers[this.core.remote.usingFallback ? 'fallback' : 'l2'].misses += storeKeys.length
    if (this.core.events.has('miss')) for (const key of storeKeys) this.core.events.emit('miss', { key })
  }

  private countSets(storeKeys: readonly string[]): void {
    this.core.stats.sets += storeKeys.length
    if (this.core.events.has('set')) for (const key of storeKeys) this.core.events.emit('set', { key })
  }

  private assertOpen(): void {
    if (this.core.closed) throw new InvalidOptionError('[cachekit/core] the cache is closed')
  }
}

class FactoryRun implements FactoryContext {
  ttl: WriteOptions['ttl']
  skipped = false

  constructor(readonly key: string) {}

  setTtl(ttl: Duration): void {
    this.ttl = ttl
  }

  skip(): void {
    this.skipped = true
  }
}

function defaultWrapKey<Args extends unknown[]>(fn: (...args: Args) => unknown): (...args: Args) => string {
  if (!fn.name) {
    throw new InvalidOptionError('[cachekit/core] wrap() of an anonymous function needs a `key` option')
  }
  return (...args) => `${fn.name}:${JSON.stringify(args)}`
}

async function deleteMatchingIn(store: CacheCore['l1'] & {}, pattern: string): Promise<number> {
  const keys: string[] = []
  for await (const key of store.scan(pattern)) keys.push(key)
  return keys.length === 0 ? 0 : store.delete(keys)
}

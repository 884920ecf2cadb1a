import type { CacheEntry } from '../entry.js'
import { CacheClosedError, InvalidOptionError } from '../errors.js'
import type { CacheCore, L1Entry } from './cache_core.js'
import type { CacheEventName, CacheListener } from './cache_events.js'
import type {
  Factory,
  GetOrSetOptions,
  InvalidateTagsOptions,
  SetManyItem,
  WrapOptions,
  WriteOptions,
} from './cache_options.js'
import type { CacheStats } from './cache_stats.js'
import { writeClock } from './clock.js'
import type { KeySpace } from './key_space.js'
import { Loader, type LoadSettings } from './loader.js'
import type { ReadPath } from './read_path.js'
import { scopeTags } from './tag_names.js'
import { type CacheOperationContext, isTraced, trace, tracingChannels } from './tracing.js'

/**
 * A cache: L1 in memory in front of L2 shared between processes, behind one API. Namespaces and
 * profiles are views of the same cache: they share stores, statistics and events, and differ in the
 * keys they address (`namespace`) or the defaults of their calls (`profile`).
 */
export class Cache {
  private readonly loader: Loader
  private readonly reads: ReadPath
  private defaultSettings: LoadSettings<unknown> | undefined

  /** @internal Use `createCache`. */
  constructor(
    private readonly core: CacheCore,
    private readonly space: KeySpace,
    private readonly defaults: GetOrSetOptions,
  ) {
    this.loader = new Loader(core)
    this.reads = core.reads
  }

  /**
   * The value under `key` while it is fresh, else `undefined`. Never throws a cache failure; rejects
   * with `E_STORE_CLOSED` after `close()`.
   */
  get<T = unknown>(key: string): Promise<T | undefined> {
    if (this.core.closed) return Promise.reject(new CacheClosedError())
    const storeKey = this.space.root + key
    if (isTraced(tracingChannels.get)) {
      return trace(tracingChannels.get, this.traceContext('get', key, storeKey), (context) =>
        this.getTraced<T>(storeKey, context),
      )
    }
    const local = this.reads.fast(storeKey)
    // Not an async function: an L1 hit then costs one resolved promise and no async frame.
    if (local === undefined) return this.getSlow(storeKey)
    this.reads.countHit(storeKey, 'l1')
    return Promise.resolve(local.value as T)
  }

  private async getSlow<T>(storeKey: string, context?: CacheOperationContext): Promise<T | undefined> {
    const read = await this.reads.read(storeKey)
    if (read.state === 'fresh') {
      this.reads.countHit(storeKey, read.tier)
      if (context) {
        context.hit = true
        context.tier = read.tier
      }
      return read.entry.value as T
    }
    this.reads.countMisses([storeKey])
    if (context) context.hit = false
    return undefined
  }

  /** `get` while someone traces it: the same steps, telling the context what served the read. */
  private getTraced<T>(storeKey: string, context: CacheOperationContext): Promise<T | undefined> {
    const local = this.reads.fast(storeKey)
    if (local === undefined) return this.getSlow(storeKey, context)
    this.reads.countHit(storeKey, 'l1')
    context.hit = true
    context.tier = 'l1'
    return Promise.resolve(local.value as T)
  }

  /**
   * True exactly when `get` would return a value: fresh, its tags standing, and its bytes decoding
   * (so a value that would read as a miss is not reported as present). It reads and decodes the
   * value from L2 like `get`, and counts neither a hit nor a miss.
   */
  async has(key: string): Promise<boolean> {
    this.core.assertOpen()
    const storeKey = this.space.root + key
    if (this.reads.fast(storeKey) !== undefined) return true
    return (await this.reads.read(storeKey)).state === 'fresh'
  }

  /** Values for several keys, in order; one round trip to L2 for all L1 misses. */
  async getMany<T = unknown>(keys: readonly string[]): Promise<Array<T | undefined>> {
    this.core.assertOpen()
    const storeKeys = keys.map((key) => this.space.root + key)
    // Filled, not holey: a miss is an `undefined` entry that `for...in` and `forEach` see (Keyv reads
    // getMany results with `for...in`).
    const values: Array<T | undefined> = new Array(keys.length).fill(undefined)
    const missing: number[] = []
    for (const [i, storeKey] of storeKeys.entries()) {
      const local = this.reads.fast(storeKey)
      if (local === undefined) {
        missing.push(i)
      } else {
        this.reads.countHit(storeKey, 'l1')
        values[i] = local.value as T
      }
    }
    if (missing.length === 0) return values
    const reads = await this.reads.readMany(missing.map((i) => storeKeys[i]!))
    const missed: string[] = []
    for (const [j, read] of reads.entries()) {
      const i = missing[j]!
      if (read.state === 'fresh') {
        this.reads.countHit(storeKeys[i]!, read.tier)
        values[i] = read.entry.value as T
      } else {
        missed.push(storeKeys[i]!)
      }
    }
    if (missed.length > 0) this.reads.countMisses(missed)
    return values
  }

  /** Caches a value. Cache failures are emitted as `error`, not thrown (see `throwErrors`). */
  set<T>(key: string, value: T, options?: WriteOptions<T>): Promise<void> {
    if (!isTraced(tracingChannels.set)) return this.setUntraced(key, value, options)
    const context = this.traceContext('set', key, this.space.root + key)
    return trace(tracingChannels.set, context, () => this.setUntraced(key, value, options))
  }

  private setUntraced<T>(key: string, value: T, options?: WriteOptions<T>): Promise<void> {
    // Not an async function: a set is then one promise from the write path, not one more around it.
    try {
      this.core.assertOpen()
      const storeKey = this.space.root + key
      const entry = this.entryOf(key, value, this.withDefaults(options))
      if (entry instanceof Promise) {
        return entry.then((resolved) => this.core.writes.write([{ storeKey, entry: resolved }], 'set'))
      }
      return this.core.writes.write([{ storeKey, entry }], 'set')
    } catch (error) {
      return Promise.reject(error)
    }
  }

  /** Caches several values; one round trip to L2. */
  async setMany<T>(items: ReadonlyArray<SetManyItem<T>>): Promise<void> {
    this.core.assertOpen()
    const entries = await Promise.all(
      items.map((item) => this.entryOf(item.key, item.value, this.withDefaults(item))),
    )
    const writes = items.map((item, i) => ({ storeKey: this.space.root + item.key, entry: entries[i]! }))
    await this.core.writes.write(writes, 'setMany')
  }

  /**
   * Invalidates every entry carrying one of `tags` (given in this namespace), in every tier and, over
   * the bus, every process. Costs O(1) whatever the number of tagged entries: it records a time per
   * tag, and reads compare it with the entry's creation time. See `InvalidationStrategy`.
   * @example await cache.invalidateTags(['products'], { strategy: 'lazy' })
   */
  async invalidateTags(tags: readonly string[], options: InvalidateTagsOptions = {}): Promise<void> {
    this.core.assertOpen()
    const strategy = options.strategy ?? 'immediate'
    if (strategy !== 'immediate' && strategy !== 'lazy' && strategy !== 'ttl') {
      throw new InvalidOptionError(
        `[cachekit/core] strategy must be 'immediate', 'lazy' or 'ttl', got ${String(strategy)}`,
      )
    }
    await this.core.writes.invalidateTags(scopeTags(this.space.root, tags), strategy)
  }

  /**
   * The cached value under `key`, or the factory's result, cached. Concurrent callers for one key
   * share a single factory call (in this process, or in the whole fleet with `lock: 'distributed'`).
   * Cache failures never reach the caller: with L2 down the factory still runs and its value is
   * returned. With `grace`, a stale value is served when the factory fails or passes its soft
   * timeout. The factory's own errors reach the caller when no stale value can stand in.
   */
  getOrSet<T>(key: string, factory: Factory<T>, options?: GetOrSetOptions<T>): Promise<T> {
    if (this.core.closed) return Promise.reject(new CacheClosedError())
    const storeKey = this.space.root + key
    if (isTraced(tracingChannels.getOrSet) || isTraced(tracingChannels.factory)) {
      return this.getOrSetTraced(key, storeKey, factory, options)
    }
    return this.getOrSetUntraced(key, storeKey, factory, options)
  }

  private getOrSetUntraced<T>(
    key: string,
    storeKey: string,
    factory: Factory<T>,
    options: GetOrSetOptions<T> | undefined,
  ): Promise<T> {
    const local = this.reads.fast(storeKey)
    let settings: LoadSettings<T>
    try {
      // Parsed once per view for calls without options, the common case on the hot path.
      if (options) {
        settings = this.loader.settings(this.withDefaults(options))
      } else {
        this.defaultSettings ??= this.loader.settings(this.defaults)
        settings = this.defaultSettings as LoadSettings<T>
      }
    } catch (error) {
      return Promise.reject(error)
    }
    if (local !== undefined) {
      this.reads.countHit(storeKey, 'l1')
      this.loader.maybeRefreshAhead(key, storeKey, local, factory, settings)
      return Promise.resolve(local.value as T)
    }
    return this.loader.load(key, storeKey, factory, settings)
  }

  /**
   * `getOrSet` while someone traces it. The factory is wrapped, so its calls are traced on their own
   * channel and mark the read a miss; a read that ran no factory here was served by a tier.
   */
  private getOrSetTraced<T>(
    key: string,
    storeKey: string,
    factory: Factory<T>,
    options: GetOrSetOptions<T> | undefined,
  ): Promise<T> {
    const context = this.traceContext('getOrSet', key, storeKey)
    context.hit = true
    if (this.reads.fast(storeKey) !== undefined) context.tier = 'l1'
    const traced: Factory<T> = (factoryContext) => {
      context.hit = false
      context.tier = undefined
      if (!isTraced(tracingChannels.factory)) return factory(factoryContext)
      return trace(tracingChannels.factory, this.traceContext('factory', key, storeKey), async () =>
        factory(factoryContext),
      )
    }
    if (!isTraced(tracingChannels.getOrSet)) return this.getOrSetUntraced(key, storeKey, traced, options)
    return trace(tracingChannels.getOrSet, context, () =>
      this.getOrSetUntraced(key, storeKey, traced, options),
    )
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
    const { key: _key, ...callOptions } = options
    return (...args: Args) => this.getOrSet(keyOf(...args), () => fn(...args), callOptions)
  }

  /** Deletes a key from every tier (and other instances' L1); true when it existed. */
  async delete(key: string): Promise<boolean> {
    if (!isTraced(tracingChannels.delete)) return (await this.deleteMany([key])) > 0
    const context = this.traceContext('delete', key, this.space.root + key)
    return trace(tracingChannels.delete, context, async () => (await this.deleteMany([key])) > 0)
  }

  /** Deletes keys from every tier (and other instances' L1); resolves with how many existed. */
  async deleteMany(keys: readonly string[]): Promise<number> {
    this.core.assertOpen()
    if (keys.length === 0) return 0
    return this.core.writes.delete(keys.map((key) => this.space.root + key))
  }

  /**
   * Deletes the keys of this cache (or namespace) matching a Redis glob, from every tier, with SCAN
   * and batched deletes, never KEYS. The namespace prefix is escaped, so only the pattern is a glob.
   */
  async deleteMatching(pattern: string): Promise<number> {
    this.core.assertOpen()
    return this.core.writes.deleteMatching(this.space.patternOf(pattern))
  }

  /**
   * The keys of this cache (or namespace) matching a Redis glob, without its prefix, by SCAN on every
   * master of L2 (L1's keys when there is no L2), never KEYS. Nested namespaces' keys are not
   * included, and the prefix is escaped, so only the pattern is a glob. As with SCAN, a key written or
   * deleted meanwhile may or may not be seen, and one may appear twice.
   */
  async *keys(pattern = '*'): AsyncIterable<string> {
    this.core.assertOpen()
    const root = this.space.root
    for await (const storeKey of this.core.scan(this.space.patternOf(pattern)))
      yield storeKey.slice(root.length)
  }

  /** Deletes every key of this cache or namespace, and nothing outside it. */
  async clear(): Promise<void> {
    this.core.assertOpen()
    await this.core.writes.clear(this.space.path)
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
  profile(name: string, defaults?: GetOrSetOptions): Cache {
    if (defaults) {
      this.loader.settings(defaults) // validates now, not on the first call
      this.core.profiles.set(name, defaults)
    }
    const known = this.core.profiles.get(name)
    if (!known)
      throw new InvalidOptionError(`[cachekit/core] unknown profile "${name}": define it with options first`)
    return new Cache(this.core, this.space, { ...this.defaults, ...known })
  }

  /**
   * The fresh entries this process's L1 holds for this cache or namespace (namespaces nested in it
   * included), most recently used first, with their store keys. Reads nothing from L2, counts no hit
   * and leaves L1's order alone. Empty when the L1 store cannot list its entries (it has no
   * `entries`, which `memoryStore` has). For snapshots: pass them to `restoreL1` in another process.
   * @throws CacheClosedError (`E_STORE_CLOSED`) after `close()`.
   */
  l1Entries(): L1Entry[] {
    return this.core.l1Entries(this.space.path)
  }

  /**
   * Puts entries listed by `l1Entries` (here or in another process of the same app) into this
   * process's L1 only: L2 is not written and nothing is announced on the bus. Each entry keeps its
   * own times, so its remaining TTL runs on and an invalidation of its tags made since it was created
   * still applies; it stays in L1 at most `l1MaxTtl`, like any copy. Left out: entries no longer
   * fresh, and keys L1 already holds (a copy read or written since is newer). Restore before serving:
   * writes other processes made while this one was down reach it only by TTL or `l1MaxTtl`.
   * @returns how many entries went into L1 (0 without an L1).
   * @throws InvalidOptionError (`E_INVALID_OPTION`), before anything is written, when an item is not
   *   an entry or its key lies outside this cache or namespace.
   */
  restoreL1(entries: readonly L1Entry[]): Promise<number> {
    return this.core.restoreL1(entries, this.space.path)
  }

  /** Resolves once the cache is subscribed to its bus (immediately without one). */
  ready(): Promise<void> {
    return this.core.ready()
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
    return this.core.snapshot()
  }

  /** Closes the cache and the stores it was given; shared by every view of it. */
  close(): Promise<void> {
    return this.core.close()
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close()
  }

  private traceContext(
    operation: CacheOperationContext['operation'],
    key: string,
    storeKey: string,
  ): CacheOperationContext {
    return { operation, key, storeKey, owner: this.core }
  }

  private entryOf<T>(
    key: string,
    value: T,
    options: GetOrSetOptions<T>,
  ): CacheEntry<T> | Promise<CacheEntry<T>> {
    const entry = this.core.writes.createEntry(key, value, options, writeClock(), this.space.root)
    if (!options.dependsOn) return entry
    return this.core.writes.withDependencies(entry, this.space.root + key, options.dependsOn, this.space.root)
  }

  private withDefaults<T>(options: GetOrSetOptions<T> | undefined): GetOrSetOptions<T> {
    if (!options) return this.defaults as GetOrSetOptions<T>
    return { ...(this.defaults as GetOrSetOptions<T>), ...options }
  }
}

function defaultWrapKey<Args extends unknown[]>(fn: (...args: Args) => unknown): (...args: Args) => string {
  if (!fn.name) {
    throw new InvalidOptionError('[cachekit/core] wrap() of an anonymous function needs a `key` option')
  }
  return (...args) => `${fn.name}:${JSON.stringify(args)}`
}

import type { Duration } from '../duration.js'
import { parseOptionalDuration } from '../duration.js'
import type { CacheEntry } from '../entry.js'
import { CacheError, FactoryError, InvalidOptionError } from '../errors.js'
import type { CacheCore } from './cache_core.js'
import type { Factory, FactoryContext, GetOrSetOptions } from './cache_options.js'
import { writeClock } from './clock.js'
import { awaitFactory, type FactoryTimeouts, SERVE_STALE } from './factory_timeouts.js'
import { internalKey } from './key_space.js'
import type { Found, Read, ReadPath, StaleRead } from './read_path.js'
import { checkLock, checkRefreshAhead, parseGrace } from './resolve_options.js'
import { checkTagsOption } from './tag_names.js'
import { checkTtl } from './ttl_policy.js'

/** One `getOrSet` call's settings, after the call's options were laid over the defaults. */
export interface LoadSettings<T> {
  options: GetOrSetOptions<T>
  timeouts: FactoryTimeouts
  lock: 'local' | 'distributed'
  refreshAhead: number | undefined
}

/** How often a caller waiting on another process's factory looks at L2, ms: fast first, then calmer. */
const FIRST_POLL_MS = 20
const MAX_POLL_MS = 200

/**
 * Runs `getOrSet` past an L1 hit: finds the best entry in any tier, serves it when fresh, serves it
 * stale when the factory fails or is slow (grace, soft timeout) or is running in another process
 * (distributed lock), and otherwise runs the factory once and caches its value.
 */
export class Loader {
  private readonly reads: ReadPath

  constructor(private readonly core: CacheCore) {
    this.reads = core.reads
  }

  /**
   * Checks a call's options and lays them over the defaults. Everything a write would check later
   * is checked here, so a bad option rejects the call before the factory runs instead of leaving
   * its value silently uncached.
   * @throws InvalidOptionError, InvalidDurationError
   */
  settings<T>(options: GetOrSetOptions<T>): LoadSettings<T> {
    if (typeof options !== 'object' || options === null) {
      throw new InvalidOptionError('[cachekit/core] options must be an object')
    }
    checkTtl(options.ttl)
    if (options.grace !== undefined) parseGrace(options.grace)
    checkTagsOption(options.tags)
    if (options.dependsOn !== undefined && !Array.isArray(options.dependsOn)) {
      throw new InvalidOptionError('[cachekit/core] dependsOn must be an array of keys')
    }
    const defaults = this.core.defaults
    const refreshAhead =
      options.refreshAhead === false ? undefined : (options.refreshAhead ?? defaults.refreshAhead)
    return {
      options,
      timeouts: {
        softMs: parseOptionalDuration(options.timeouts?.soft) ?? defaults.softMs,
        hardMs: parseOptionalDuration(options.timeouts?.hard) ?? defaults.hardMs,
      },
      lock: checkLock(options.lock) ?? defaults.lock,
      refreshAhead: checkRefreshAhead(refreshAhead),
    }
  }

  /** After an L1 miss (or with no L1): one flight per key in this process. */
  load<T>(key: string, storeKey: string, factory: Factory<T>, settings: LoadSettings<T>): Promise<T> {
    return this.core.flights.run(storeKey, async () => {
      const read = await this.reads.read(storeKey)
      if (read.state === 'fresh') {
        this.reads.countHit(storeKey, read.tier)
        this.maybeRefreshAhead(key, storeKey, read.entry, factory, settings)
        return read.entry.value as T
      }
      const stale = read.state === 'stale' ? read : undefined
      if (stale?.invalidated) {
        // Lazy invalidation: the stale value now, and one refresh in the background.
        this.refreshInBackground(key, storeKey, factory, settings)
        return this.serveStale(storeKey, stale)
      }
      if (stale && this.core.backoff.isBackingOff(storeKey)) return this.serveStale(storeKey, stale)
      if (settings.lock === 'distributed' && this.core.lock) {
        return this.loadDistributed(key, storeKey, factory, settings, stale)
      }
      this.reads.countMisses([storeKey])
      return this.produce(key, storeKey, factory, settings, stale)
    })
  }

  /** Called on every fresh hit of `getOrSet`: refreshes an ageing entry once, in the background. */
  maybeRefreshAhead<T>(
    key: string,
    storeKey: string,
    entry: CacheEntry,
    factory: Factory<T>,
    settings: LoadSettings<T>,
  ): void {
    const fraction = settings.refreshAhead
    if (fraction === undefined || entry.expiresAt === Number.POSITIVE_INFINITY) return
    const age = Date.now() - entry.createdAt
    if (age < fraction * (entry.expiresAt - entry.createdAt)) return
    this.refreshInBackground(key, storeKey, factory, settings)
  }

  /** Runs the factory once per key in the background and caches its value; failures are reported. */
  private refreshInBackground<T>(
    key: string,
    storeKey: string,
    factory: Factory<T>,
    settings: LoadSettings<T>,
  ): void {
    void this.core.refreshes
      .run(storeKey, () => this.start(key, storeKey, factory, settings.options))
      .catch((error: unknown) =>
        this.core.errors.inBackground('refresh', new FactoryError(key, error), storeKey),
      )
  }

  /** Runs the factory within its timeouts; a failure is covered by a stale value when there is one. */
  private async produce<T>(
    key: string,
    storeKey: string,
    factory: Factory<T>,
    settings: LoadSettings<T>,
    stale: Found | undefined,
    onStored?: () => void,
  ): Promise<T> {
    const running = this.start(key, storeKey, factory, settings.options, onStored)
    try {
      const result = await awaitFactory(running, key, settings.timeouts, stale !== undefined)
      if (result !== SERVE_STALE) return result
    } catch (error) {
      if (!stale || CacheError.hasCode(error, 'E_FACTORY_HARD_TIMEOUT')) throw error
      this.core.backoff.markFailure(storeKey)
      this.core.errors.report('factory', new FactoryError(key, error), storeKey)
    }
    // Whatever happens to the factory now, it must not become an unhandled rejection.
    running.catch(() => undefined)
    return this.serveStale(storeKey, stale!)
  }

  /**
   * Starts the factory and caches its value when it lands, however long the caller waits. Resolves
   * once the value is in L1; the L2 write goes on in the background, and `onStored` runs when it is
   * over (or at once when there is nothing to write, the factory failed included).
   */
  private start<T>(
    key: string,
    storeKey: string,
    factory: Factory<T>,
    options: GetOrSetOptions<T>,
    onStored?: () => void,
  ): Promise<T> {
    const context = new FactoryRun(key)
    return (async () => {
      let landed: Promise<void> | undefined
      try {
        // The entry counts as created when the factory started: data it read before a tag or a
        // dependency was invalidated must not outlive that invalidation.
        const startedAt = writeClock()
        const value = await factory(context)
        if (!context.skipped)
          landed = (await this.cache(key, storeKey, value, context, options, startedAt))?.landed
        return value
      } finally {
        if (onStored) {
          if (landed) void landed.then(onStored)
          else onStored()
        }
      }
    })()
  }

  /**
   * Caches a factory's value; a value that cannot be cached is reported, and still returned.
   * Resolves once L1 has it, with the L2 write still going (see `CacheCore.fill`).
   */
  private async cache<T>(
    key: string,
    storeKey: string,
    value: T,
    context: FactoryRun,
    options: GetOrSetOptions<T>,
    startedAt: number,
  ): Promise<{ landed: Promise<void> } | undefined> {
    const writeOptions = context.ttl === undefined ? options : { ...options, ttl: context.ttl }
    let entry: CacheEntry<T>
    try {
      entry = this.core.writes.createEntry(key, value, writeOptions, startedAt, this.root(storeKey, key))
      if (writeOptions.dependsOn) {
        const root = this.root(storeKey, key)
        entry = await this.core.writes.withDependencies(entry, storeKey, writeOptions.dependsOn, root)
      }
    } catch (error) {
      this.core.errors.report('set', error, storeKey)
      return undefined
    }
    return this.core.writes.fill({ storeKey, entry })
  }

  /** The key space root of a call: its store key minus the key. */
  private root(storeKey: string, key: string): string {
    return storeKey.slice(0, storeKey.length - key.length)
  }

  /**
   * One factory call in the whole fleet: the process that takes the lock runs it; the others serve
   * the stale value if they have one, or wait for the value to appear in L2 (woken by the bus,
   * polling as a safety net) and take the lock over if its owner dies.
   */
  private async loadDistributed<T>(
    key: string,
    storeKey: string,
    factory: Factory<T>,
    settings: LoadSettings<T>,
    stale: Found | undefined,
  ): Promise<T> {
    // Beside the entry, under a name no entry can have (see `internalKey`).
    const lockKey = internalKey(this.root(storeKey, key).slice(0, -1), 'lock', key)
    const lockTtlMs = this.core.defaults.lockTtlMs
    const deadline = Date.now() + (settings.timeouts.hardMs ?? lockTtlMs * 2)
    // A call is one miss or one hit, however many rounds it waits.
    let missCounted = false
    const countMiss = () => {
      if (!missCounted) this.reads.countMisses([storeKey])
      missCounted = true
    }
    const hit = (found: Found): T => {
      if (!missCounted) this.reads.countHit(storeKey, found.tier)
      return found.entry.value as T
    }
    let pollMs = FIRST_POLL_MS
    while (true) {
      const lock = this.core.lock
      const token = lock ? await lock.acquire(lockKey, lockTtlMs).catch(() => null) : null
      if (token === null) {
        // The lock is unreachable (L2 failing): fall back to one factory call per process.
        countMiss()
        return this.produce(key, storeKey, factory, settings, stale)
      }
      if (token !== undefined) {
        // The previous owner may have written the value while this process waited for the lock.
        const read = await this.reads.read(storeKey)
        if (read.state === 'fresh') {
          void lock!.release(lockKey, token).catch(() => undefined)
          return hit(read)
        }
        countMiss()
        // Released once the factory's value is written, not when a soft timeout lets the caller go.
        const release = () => void lock!.release(lockKey, token).catch(() => undefined)
        return this.produce(key, storeKey, factory, settings, staleOf(read) ?? stale, release)
      }
      if (stale) return this.serveStale(storeKey, stale)
      countMiss()
      await this.core.waitForWrite(storeKey, pollMs)
      pollMs = Math.min(MAX_POLL_MS, Math.round(pollMs * 1.5))
      const read = await this.reads.read(storeKey)
      if (read.state === 'fresh') return hit(read)
      if (Date.now() >= deadline) {
        // Waited as long as the caller allows for someone else: produce here rather than fail.
        return this.produce(key, storeKey, factory, settings, staleOf(read))
      }
    }
  }

  private serveStale<T>(storeKey: string, found: Found): T {
    this.reads.countHit(storeKey, found.tier, true)
    return found.entry.value as T
  }
}

class FactoryRun implements FactoryContext {
  ttl: Duration | undefined
  skipped = false

  constructor(readonly key: string) {}

  setTtl(ttl: Duration): void {
    this.ttl = ttl
  }

  skip(): void {
    this.skipped = true
  }
}

function staleOf(read: Read): StaleRead | undefined {
  return read.state === 'stale' ? read : undefined
}

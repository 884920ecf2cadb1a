import { InvalidOptionError, StoreClosedError, type TagIndex } from '@cachekit/core'

/** Options of `memoryTagIndex`. */
export interface MemoryTagIndexOptions {
  /**
   * Most tags remembered. Past it the tags invalidated longest ago are forgotten, and the latest
   * time forgotten becomes the index's floor: every tag then reads at least that time (see
   * `memoryTagIndex`). Size it well above the number of tags invalidated within your longest
   * entry lifetime, so the floor stays older than live entries. Default 100,000 (a few MiB).
   */
  maxTags?: number
  /** Name used in errors. Default `memory-tag-index`. */
  name?: string
}

/** A TagIndex kept in this process's memory. */
export interface MemoryTagIndex extends TagIndex {
  /** Tags remembered now (at most `maxTags`). */
  readonly size: number
  /**
   * The latest invalidation time forgotten to stay within `maxTags`; 0 while nothing was forgotten.
   * Every tag reads at least this time.
   */
  readonly floor: number
  close(): Promise<void>
  /** Same as `close`, for `await using`. */
  [Symbol.asyncDispose](): Promise<void>
}

/** Default of `maxTags`. */
export const DEFAULT_MAX_TAGS = 100_000

/**
 * Creates a TagIndex in this process's memory: one time per tag, only ever moved forward, for a
 * single-process cache, tests, or the fallback tier while Redis is away.
 *
 * It is bounded by `maxTags`. When full, it forgets the tags invalidated longest ago (least recently
 * moved forward, which with real clocks are the oldest times) and raises a **floor** to the latest
 * time it forgot. Every tag, known or not, reads at least the floor. This is the safe choice: a
 * forgotten tag can never read 0 and bring back entries it invalidated; the cost is that entries
 * created at or before the floor read as invalidated even when none of their tags was, i.e. some
 * extra misses, and only for entries older than the floor. A generous `maxTags` keeps the floor
 * older than any live entry, so it costs nothing.
 *
 * @example
 * const tags = memoryTagIndex({ maxTags: 50_000 })
 * await tags.invalidate(['products'], Date.now())
 * const [productsAt] = await tags.invalidatedAt(['products'])
 */
export function memoryTagIndex(options: MemoryTagIndexOptions = {}): MemoryTagIndex {
  const maxTags = options.maxTags ?? DEFAULT_MAX_TAGS
  if (!Number.isSafeInteger(maxTags) || maxTags < 1) {
    throw new InvalidOptionError(
      `[cachekit/memory] maxTags must be a positive integer, got ${String(maxTags)}`,
    )
  }
  const name = options.name ?? 'memory-tag-index'
  if (typeof name !== 'string' || name === '') {
    throw new InvalidOptionError('[cachekit/memory] name must be a non-empty string')
  }
  return new MapTagIndex(maxTags, name)
}

class MapTagIndex implements MemoryTagIndex {
  /** Tag -> time, in the order tags were last moved forward: the first is the one to forget next. */
  private readonly times = new Map<string, number>()
  private lowest = 0
  private closed = false

  constructor(
    private readonly maxTags: number,
    private readonly name: string,
  ) {}

  get size(): number {
    return this.times.size
  }

  get floor(): number {
    return this.lowest
  }

  async invalidate(tags: readonly string[], at: number): Promise<void> {
    this.checkOpen()
    checkTime(at)
    for (const tag of tags) {
      const current = this.times.get(tag)
      if (current !== undefined) {
        if (current >= at) continue
        // Re-inserted so the Map's order stays "least recently moved forward first".
        this.times.delete(tag)
      }
      this.times.set(tag, at)
    }
    this.forgetOverflow()
  }

  async invalidatedAt(tags: readonly string[]): Promise<number[]> {
    this.checkOpen()
    const floor = this.lowest
    return tags.map((tag) => Math.max(this.times.get(tag) ?? 0, floor))
  }

  async close(): Promise<void> {
    this.closed = true
    this.times.clear()
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close()
  }

  private forgetOverflow(): void {
    let excess = this.times.size - this.maxTags
    if (excess <= 0) return
    for (const [tag, time] of this.times) {
      if (excess-- <= 0) break
      this.times.delete(tag)
      if (time > this.lowest) this.lowest = time
    }
  }

  private checkOpen(): void {
    if (this.closed) throw new StoreClosedError(this.name)
  }
}

function checkTime(at: number): void {
  if (typeof at !== 'number' || !Number.isFinite(at) || at < 0) {
    throw new InvalidOptionError(
      `[cachekit/memory] an invalidation time must be a finite number >= 0, got ${String(at)}`,
    )
  }
}

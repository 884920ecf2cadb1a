import { StoreClosedError, type TagIndex } from '../../src/index.js'

/**
 * A Map-backed TagIndex for core's own tests (the real ones, memoryTagIndex and redisTagIndex, live
 * in @cachekit/memory and @cachekit/redis). It passes the TagIndex contract suite; `failing` makes
 * every call reject, and `calls` counts them, so tests can see when a cache reads the index.
 */
export class MapTagIndex implements TagIndex {
  failing = false
  calls = { invalidate: 0, invalidatedAt: 0 }
  private readonly times = new Map<string, number>()
  private closed = false

  async invalidate(tags: readonly string[], at: number): Promise<void> {
    this.check()
    this.calls.invalidate++
    for (const tag of tags) this.times.set(tag, Math.max(this.times.get(tag) ?? 0, at))
  }

  async invalidatedAt(tags: readonly string[]): Promise<number[]> {
    this.check()
    this.calls.invalidatedAt++
    return tags.map((tag) => this.times.get(tag) ?? 0)
  }

  /** The recorded time of a tag as the cache names it (scoped, e.g. `app:products`). */
  timeOf(tag: string): number {
    return this.times.get(tag) ?? 0
  }

  async close(): Promise<void> {
    this.closed = true
  }

  private check(): void {
    if (this.closed) throw new StoreClosedError('map-tag-index')
    if (this.failing) throw new Error('tag index unavailable')
  }
}

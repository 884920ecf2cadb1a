import { LRUCache } from 'lru-cache'

/**
 * Keys this process saw denied, until their retry time, so their next requests are denied with no
 * Redis call. A denial counts nothing, so denying locally changes no count: the only difference
 * from asking Redis is that a `reset(key)` or a refund made by another process is seen when the
 * block ends, not before. Bounded in size; the clock is monotonic.
 */
export class LocalBlock {
  private readonly until: LRUCache<string, number>

  constructor(maxKeys: number) {
    this.until = new LRUCache<string, number>({ max: maxKeys })
  }

  /** Milliseconds the key stays blocked, or 0. */
  remainingMs(key: string): number {
    if (this.until.size === 0) return 0
    const until = this.until.get(key)
    if (until === undefined) return 0
    const left = until - performance.now()
    if (left > 0) return Math.ceil(left)
    this.until.delete(key)
    return 0
  }

  add(key: string, ms: number): void {
    this.until.set(key, performance.now() + ms)
  }

  delete(key: string): void {
    this.until.delete(key)
  }

  clear(): void {
    this.until.clear()
  }
}

/**
 * After a factory fails and a stale value is served instead, the factory is not tried again for
 * that key until the backoff has passed: a source that is down is not hammered by every request,
 * and callers keep getting the stale value meanwhile. Bounded: the oldest marks go first.
 */
export class GraceBackoff {
  private readonly retryAt = new Map<string, number>()

  constructor(
    private readonly backoffMs: number,
    private readonly maxKeys = 10_000,
  ) {}

  /** True while the factory of `key` should not be retried. */
  isBackingOff(key: string, now = Date.now()): boolean {
    const until = this.retryAt.get(key)
    if (until === undefined) return false
    if (now < until) return true
    this.retryAt.delete(key)
    return false
  }

  markFailure(key: string, now = Date.now()): void {
    if (this.retryAt.size >= this.maxKeys) {
      const oldest = this.retryAt.keys().next().value
      if (oldest !== undefined) this.retryAt.delete(oldest)
    }
    this.retryAt.delete(key)
    this.retryAt.set(key, now + this.backoffMs)
  }

  clear(key: string): void {
    this.retryAt.delete(key)
  }
}

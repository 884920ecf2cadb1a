/**
 * Guards L1 against a read that raced a write. A read of L2 that started before a key was written
 * or deleted (here or, through the bus, elsewhere) may come back with the old value; copying it into
 * L1 would then serve it until the L1 TTL. So every invalidation bumps a counter, reads remember the
 * counter when they start, and a read finished after an invalidation of its key is not copied.
 *
 * A counter rather than a clock, so no two events can tie. Per-key marks are bounded: past
 * `maxKeys` they are dropped and a broad mark stands in for all of them, which only makes a few
 * in-flight reads skip the copy into L1.
 */
export class InvalidationEpochs {
  private epoch = 0
  private broadEpoch = 0
  private readonly byKey = new Map<string, number>()

  constructor(private readonly maxKeys = 10_000) {}

  /** The moment a read starts, to pass to `changedSince` when it ends. */
  now(): number {
    return this.epoch
  }

  markKeys(keys: readonly string[]): void {
    this.epoch++
    if (this.byKey.size + keys.length > this.maxKeys) {
      this.byKey.clear()
      this.broadEpoch = this.epoch
      return
    }
    for (const key of keys) this.byKey.set(key, this.epoch)
  }

  /** A clear, a pattern delete or a lost bus message: every key may have changed. */
  markAll(): void {
    this.epoch++
    this.byKey.clear()
    this.broadEpoch = this.epoch
  }

  /** True when `key` may have changed after `since`. */
  changedSince(key: string, since: number): boolean {
    if (this.epoch === since) return false
    return this.broadEpoch > since || (this.byKey.get(key) ?? 0) > since
  }
}

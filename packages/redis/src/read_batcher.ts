interface Waiter {
  resolve: (value: Uint8Array | undefined) => void
  reject: (error: unknown) => void
}

/**
 * Gathers the single-key reads made in one tick and sends them as one batch (MGET), DataLoader
 * style. Under concurrency many callers resume in the same tick (ioredis resolves every reply of a
 * socket read at once), so their next reads leave as one command instead of one each: the command
 * count, not the bytes, is what a Node Redis client spends its time on. `process.nextTick` runs after
 * the current microtasks, so every read issued while they drain joins the batch.
 */
export class ReadBatcher {
  private keys: string[] = []
  private waiters: Waiter[] = []

  constructor(private readonly fetch: (keys: readonly string[]) => Promise<Array<Uint8Array | undefined>>) {}

  get(key: string): Promise<Uint8Array | undefined> {
    return new Promise((resolve, reject) => {
      if (this.keys.length === 0) process.nextTick(() => this.flush())
      this.keys.push(key)
      this.waiters.push({ resolve, reject })
    })
  }

  private flush(): void {
    const keys = this.keys
    const waiters = this.waiters
    this.keys = []
    this.waiters = []
    this.fetch(keys).then(
      (values) => {
        for (let i = 0; i < waiters.length; i++) waiters[i]!.resolve(values[i])
      },
      (error: unknown) => {
        for (const waiter of waiters) waiter.reject(error)
      },
    )
  }
}

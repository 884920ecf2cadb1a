/** What the batcher needs of a queued write: a way to fail it when its batch cannot be sent. */
export interface QueuedWrite {
  fail(error: unknown): void
}

export interface WriteBatcherHooks<W extends QueuedWrite> {
  /** Sends a batch, in the order the writes were queued. Must not throw. */
  send(writes: W[]): void
  /**
   * `undefined` when a batch may be sent now; otherwise a promise of the moment it may (the first
   * connection), or of why it never will (closed, not ready in time).
   */
  gate(): Promise<void> | undefined
}

/**
 * Gathers the writes (SET, UNLINK) made in one tick and sends them as one batch, in the order they
 * were made, one `process.nextTick` later: under concurrency the commands leave as one pipeline (one
 * socket write, one round trip) instead of one each, as reads leave as one MGET (`ReadBatcher`).
 *
 * Order is the point of one queue for every kind of write: a `delete` made after a `set` of the same
 * key is queued behind it, so Redis runs them in that order whatever the tick or the connection
 * state. Writes made before the first connection wait in the queue, in order, and leave together once
 * it is up. `flush()` sends what is queued at once, for commands that must come after every write
 * made so far (reads, SCAN, QUIT).
 */
export class WriteBatcher<W extends QueuedWrite> {
  private queued: W[] = []
  private scheduled = false
  private waiting = false

  constructor(private readonly hooks: WriteBatcherHooks<W>) {}

  get pending(): boolean {
    return this.queued.length > 0
  }

  add(write: W): void {
    this.queued.push(write)
    if (this.scheduled || this.waiting) return
    this.scheduled = true
    process.nextTick(this.onTick)
  }

  /** Sends every queued write now, unless the batch must wait for the connection (it then leaves when it is up). */
  flush(): void {
    if (this.queued.length === 0 || this.waiting) return
    const gate = this.hooks.gate()
    if (gate) {
      this.waiting = true
      gate.then(
        () => {
          this.waiting = false
          this.flush()
        },
        (error: unknown) => {
          this.waiting = false
          this.failQueued(error)
        },
      )
      return
    }
    const writes = this.queued
    this.queued = []
    this.hooks.send(writes)
  }

  /** Fails every queued write, for a store closing before its first connection came up. */
  failQueued(error: unknown): void {
    const writes = this.queued
    this.queued = []
    for (const write of writes) write.fail(error)
  }

  private readonly onTick = (): void => {
    this.scheduled = false
    this.flush()
  }
}

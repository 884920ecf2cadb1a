/**
 * Raised when a remote tier does not answer in time; counted as a failure by the breaker. `cause`
 * is what the store knew of its connection at that moment (see `Store.connectionError`), when it
 * knew something: a timeout on a refused connection then says so.
 */
export class TierTimeoutError extends Error {
  constructor(operation: string, ms: number, cause?: Error) {
    const reason = cause ? ` (${cause.message})` : ''
    super(
      `[cachekit/core] remote tier did not answer ${operation} within ${ms} ms${reason}`,
      cause ? { cause } : undefined,
    )
    this.name = 'TierTimeoutError'
  }
}

/** What a store knows of why it cannot answer; see `Store.connectionError`. */
export type ExplainTimeout = () => Error | undefined

interface Pending {
  deadline: number
  operation: string
  /** Kept apart from `operation` so the message is only built for a call that does time out. */
  key: string | undefined
  reject: (error: Error) => void
}

/**
 * Times out remote-tier calls with one shared, unref'd timer instead of a setTimeout and a
 * clearTimeout per call: on an L2 hit those two cost about as much as decoding the value (measured
 * in tooling/bench). The timer ticks every `timeoutMs / 10` (5 to 50 ms) and only while calls are in
 * flight, so a timeout fires at most that much late.
 */
export class DeadlineTracker {
  private readonly pending = new Set<Pending>()
  private readonly tickMs: number
  private timer: NodeJS.Timeout | undefined

  constructor(
    private readonly timeoutMs: number,
    private readonly explain: ExplainTimeout = noReason,
  ) {
    this.tickMs = Math.min(50, Math.max(5, Math.round(timeoutMs / 10)))
  }

  /**
   * Rejects with `TierTimeoutError` when `promise` takes longer than the timeout (`<= 0` waits
   * forever); calls `onSuccess` when it resolves in time.
   */
  track<T>(
    promise: Promise<T>,
    operation: string,
    key: string | undefined,
    onSuccess: () => void,
  ): Promise<T> {
    if (this.timeoutMs <= 0) {
      return promise.then((value) => {
        onSuccess()
        return value
      })
    }
    return new Promise<T>((resolve, reject) => {
      const entry: Pending = { deadline: Date.now() + this.timeoutMs, operation, key, reject }
      this.pending.add(entry)
      if (!this.timer) this.start()
      promise.then(
        (value) => {
          this.pending.delete(entry)
          onSuccess()
          resolve(value)
        },
        (error: unknown) => {
          this.pending.delete(entry)
          reject(error)
        },
      )
    })
  }

  private start(): void {
    this.timer = setInterval(() => this.sweep(), this.tickMs)
    this.timer.unref()
  }

  private sweep(): void {
    const now = Date.now()
    for (const entry of this.pending) {
      if (now < entry.deadline) continue
      this.pending.delete(entry)
      const what = entry.key === undefined ? entry.operation : `${entry.operation} ${entry.key}`
      entry.reject(new TierTimeoutError(what, this.timeoutMs, this.explain()))
    }
    if (this.pending.size === 0) {
      clearInterval(this.timer)
      this.timer = undefined
    }
  }
}

/** Rejects when `promise` takes longer than `ms`; `ms <= 0` waits forever. For rare calls only. */
export function withTimeout<T>(
  promise: Promise<T>,
  ms: number,
  operation: string,
  explain: ExplainTimeout = noReason,
): Promise<T> {
  if (ms <= 0) return promise
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new TierTimeoutError(operation, ms, explain())), ms)
    promise.then(
      (value) => {
        clearTimeout(timer)
        resolve(value)
      },
      (error: unknown) => {
        clearTimeout(timer)
        reject(error)
      },
    )
  })
}

/**
 * Waits for `promise` to settle, or `ms` at most (forever when `ms` is infinite); the work goes on
 * either way. For work whose result the caller does not need but should usually see done, such as a
 * bus announcement after a write: it must not add a second timeout to the caller's wait. `promise`
 * must never reject.
 */
export function waitAtMost(promise: Promise<unknown>, ms: number): Promise<void> {
  if (ms === Number.POSITIVE_INFINITY) return promise.then(noop)
  return new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, Math.max(0, ms))
    timer.unref()
    promise.then(() => {
      clearTimeout(timer)
      resolve()
    })
  })
}

function noReason(): undefined {
  return undefined
}

function noop(): void {}

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
  /** When a sweep first saw the call (0 until then): the call started at or before it. */
  seenAt: number
  /** Answered or timed out. */
  settled: boolean
  operation: string
  /** Kept apart from `operation` so the message is only built for a call that does time out. */
  key: string | undefined
  resolve: (value: unknown) => void
  reject: (error: unknown) => void
  onError: (error: unknown, key: string | undefined) => unknown
}

/** Settles a call that failed or timed out with what its `onError` makes of it. */
function fail(entry: Pending, error: unknown): void {
  try {
    entry.resolve(entry.onError(error, entry.key))
  } catch (thrown) {
    entry.reject(thrown)
  }
}

/**
 * Times out remote-tier calls with one shared, unref'd timer instead of a setTimeout and a
 * clearTimeout per call: on an L2 hit those two cost about as much as decoding the value (measured
 * in tooling/bench). The timer ticks every `timeoutMs / 10` (5 to 50 ms) and only while calls are in
 * flight. A call reads no clock either (a clock read costs ~40 ns here, a tenth of a hit's own
 * work): the first sweep that sees it notes the time, and the call started at or before then, so a
 * timeout never fires early, and at most two ticks late.
 */
export class DeadlineTracker {
  /**
   * Calls in flight. A Set, not an array compacted by the sweep: an answered call leaves at once, so
   * under load its promise and closures die young instead of surviving a scavenge (an array version
   * measured slower in tooling/bench, L2 get with 64 callers).
   */
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
    return this.settle(promise, operation, key, onSuccess, identity, rethrow)
  }

  /**
   * Like `track`, and maps the outcome in the same step: resolves with `onValue(value, key)` when
   * `promise` resolves in time, else with `onError(error, key)` (a timeout is a `TierTimeoutError`).
   * One promise where `track(...).then(onValue, onError)` makes two, for the hottest calls (an L2
   * read); pass methods bound once, not closures made per call.
   */
  settle<T, R>(
    promise: Promise<T>,
    operation: string,
    key: string | undefined,
    onSuccess: () => void,
    onValue: (value: T, key: string | undefined) => R,
    onError: (error: unknown, key: string | undefined) => R | Promise<R>,
  ): Promise<R> {
    if (this.timeoutMs <= 0) {
      return promise.then(
        (value) => {
          onSuccess()
          return onValue(value, key)
        },
        (error: unknown) => onError(error, key),
      )
    }
    return new Promise<R>((resolve, reject) => {
      const entry: Pending = {
        seenAt: 0,
        settled: false,
        operation,
        key,
        resolve: resolve as (value: unknown) => void,
        reject,
        onError,
      }
      this.pending.add(entry)
      if (!this.timer) this.start()
      promise.then(
        (value) => {
          const late = entry.settled
          onSuccess()
          if (late) return
          entry.settled = true
          this.pending.delete(entry)
          try {
            resolve(onValue(value, key))
          } catch (thrown) {
            reject(thrown)
          }
        },
        (error: unknown) => {
          if (entry.settled) return
          entry.settled = true
          this.pending.delete(entry)
          fail(entry, error)
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
      if (entry.seenAt === 0) entry.seenAt = now
      if (now - entry.seenAt < this.timeoutMs) continue
      entry.settled = true
      this.pending.delete(entry)
      const what = entry.key === undefined ? entry.operation : `${entry.operation} ${entry.key}`
      fail(entry, new TierTimeoutError(what, this.timeoutMs, this.explain()))
    }
    if (this.pending.size === 0) {
      clearInterval(this.timer)
      this.timer = undefined
    }
  }
}

function identity<T>(value: T): T {
  return value
}

function rethrow(error: unknown): never {
  throw error
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

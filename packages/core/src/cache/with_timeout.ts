/** Raised when a remote tier does not answer in time; counted as a failure by the breaker. */
export class TierTimeoutError extends Error {
  constructor(operation: string, ms: number) {
    super(`[cachekit/core] remote tier did not answer ${operation} within ${ms} ms`)
    this.name = 'TierTimeoutError'
  }
}

/** Rejects when `promise` takes longer than `ms`; `ms <= 0` waits forever. */
export function withTimeout<T>(promise: Promise<T>, ms: number, operation: string): Promise<T> {
  if (ms <= 0) return promise
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new TierTimeoutError(operation, ms)), ms)
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

import { CacheError, StoreFailureError } from '../errors.js'

/**
 * `pending`, bounded: it rejects with `StoreFailureError` (`E_STORE_FAILURE`) once `ms` pass, so no
 * call waits on a frozen or unreachable store for longer. Other failures are typed the same way
 * (cachekit errors pass through as they are). For packages that talk to Redis directly (sessions,
 * rate limits): one timer per call, so use it for calls, not for every command of a batch.
 *
 * @example await withDeadline(client.get(key), 250, 'redis', 'get')
 */
export function withDeadline<T>(
  pending: Promise<T>,
  ms: number,
  store: string,
  operation: string,
): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(
      () =>
        reject(new StoreFailureError(store, operation, { cause: new Error(`no answer within ${ms} ms`) })),
      ms,
    )
    pending.then(
      (value) => {
        clearTimeout(timer)
        resolve(value)
      },
      (error: unknown) => {
        clearTimeout(timer)
        reject(asStoreFailure(error, store, operation))
      },
    )
  })
}

/** A failure as a cachekit error: itself if it is one, else `StoreFailureError` with it as the cause. */
export function asStoreFailure(error: unknown, store: string, operation: string): CacheError {
  if (CacheError.isInstance(error)) return error
  return new StoreFailureError(store, operation, { cause: error })
}

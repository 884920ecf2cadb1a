import { FactoryHardTimeoutError } from '../errors.js'

/** Returned by `awaitFactory` when the soft timeout ran out and the stale value should be served. */
export const SERVE_STALE = Symbol('serve stale')

/** Timeouts of one factory call, ms. */
export interface FactoryTimeouts {
  /** Past it, a stale value (if any) is returned and the factory finishes in the background. */
  softMs: number | undefined
  /** Past it, the caller gets `FactoryHardTimeoutError`; the factory still finishes in the background. */
  hardMs: number | undefined
}

/**
 * Waits for a running factory within its timeouts. `running` keeps going whatever happens here (its
 * result is still cached when it lands); this only decides how long the caller waits for it.
 */
export function awaitFactory<T>(
  running: Promise<T>,
  key: string,
  timeouts: FactoryTimeouts,
  hasStale: boolean,
): Promise<T | typeof SERVE_STALE> {
  const softMs = hasStale ? timeouts.softMs : undefined
  const hardMs = timeouts.hardMs
  if (softMs === undefined && hardMs === undefined) return running
  return new Promise((resolve, reject) => {
    const timers: NodeJS.Timeout[] = []
    const settle = (finish: () => void) => {
      for (const timer of timers) clearTimeout(timer)
      finish()
    }
    if (softMs !== undefined) timers.push(setTimeout(() => settle(() => resolve(SERVE_STALE)), softMs))
    if (hardMs !== undefined) {
      timers.push(setTimeout(() => settle(() => reject(new FactoryHardTimeoutError(key, hardMs))), hardMs))
    }
    running.then(
      (value) => settle(() => resolve(value)),
      (error: unknown) => settle(() => reject(error)),
    )
  })
}

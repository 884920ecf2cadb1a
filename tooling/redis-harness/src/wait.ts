import { setTimeout as sleep } from 'node:timers/promises'
import { RedisHarnessError } from './errors.js'

/**
 * One look at the awaited state: resolves `undefined` once it is reached, else a short description
 * of what is still missing (it ends up in the timeout error, which is where a reader needs it).
 * Throwing a `RedisHarnessError` gives up at once (the server exited); any other error counts as
 * "not yet" (the server is still starting).
 */
export type Check = () => Promise<string | undefined>

/** Options of `waitFor`. */
export interface WaitOptions {
  /** Give up after this long. */
  timeoutMs: number
  /** Pause between looks. Default 100 ms. */
  intervalMs?: number
  /** The log tail to attach to the timeout error, read only when it is thrown. */
  logTail?: () => string
}

/**
 * Polls `check` until it reports the state reached, bounded in time and in number of looks.
 * @param what the awaited state, for the error message ("cluster of 6 nodes ready").
 * @throws {RedisHarnessError} `code: 'E_REDIS_HARNESS_TIMEOUT'` with the last reason and log tail.
 */
export async function waitFor(what: string, check: Check, options: WaitOptions): Promise<void> {
  const intervalMs = options.intervalMs ?? 100
  const deadline = Date.now() + options.timeoutMs
  // Each look takes at least `intervalMs`, so this many can never be needed; the count is a second
  // bound in case the clock misbehaves.
  const maxLooks = Math.ceil(options.timeoutMs / intervalMs) + 1
  let reason = 'not checked yet'
  for (let look = 0; look < maxLooks; look++) {
    try {
      const pending = await check()
      if (pending === undefined) return
      reason = pending
    } catch (error) {
      if (RedisHarnessError.isInstance(error)) throw error
      reason = error instanceof Error ? error.message : String(error)
    }
    const left = deadline - Date.now()
    if (left <= 0) break
    await sleep(Math.min(intervalMs, left))
  }
  throw new RedisHarnessError(
    'E_REDIS_HARNESS_TIMEOUT',
    `timed out after ${options.timeoutMs} ms waiting for ${what}; last state: ${reason}`,
    { logTail: options.logTail?.() },
  )
}

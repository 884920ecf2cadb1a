import { type Cache, CacheError, type Duration, InvalidOptionError, parseDuration } from '@cachekit/core'
import { assertCache, describe, optionalFunction, optionsObject } from '../options.js'
import { isReusableLoader } from './loader_source.js'
import { warm } from './warm.js'
import type { WarmLoader, WarmOptions, WarmReport } from './warm_types.js'

/** Options of `scheduleWarming`: when to run, and the options of each run (as `warm` takes them). */
export interface ScheduleWarmingOptions extends WarmOptions {
  /** Time between two runs' start times. At least 1 ms. */
  every: Duration
  /**
   * Up to this much random time is added to each wait, so the processes of a fleet started together
   * do not all warm at once. Default 0.
   */
  jitter?: Duration
  /** Runs once right away (true, the default), or first after one interval. */
  immediate?: boolean
  /** Called with the report of each run that finished. */
  onRun?: (report: WarmReport) => void
  /** Called when a run is due while the previous one is still going (that run is skipped). */
  onSkip?: () => void
  /** Called when a run rejected (it never does for entry or loader failures, which are in its report). */
  onError?: (error: unknown) => void
  /** Stops the schedule, like `stop()`, when it aborts. */
  signal?: AbortSignal
}

/** A running schedule of `scheduleWarming`. */
export interface WarmingSchedule {
  /** True while a run is going. */
  readonly running: boolean
  /** True once stopped (`stop()`, the signal, or the cache's `close()`). */
  readonly stopped: boolean
  /** Runs started so far. */
  readonly runs: number
  /** Runs skipped because the previous one was still going. */
  readonly skipped: number
  /** The report of the last run that finished. */
  readonly lastReport: WarmReport | undefined
  /**
   * Stops the schedule: no run starts after it, and the current one is aborted (no loader is read
   * again); resolves once that run has ended.
   */
  stop(): Promise<void>
}

/**
 * Runs `warm(cache, loaders, options)` on a schedule: every `every` (plus up to `jitter`), and right
 * away unless `immediate: false`. A run that comes due while the previous one is still going is
 * skipped, never run alongside it (`onSkip`, `skipped`). It stops with its own `stop()`, with
 * `signal`, and with the cache: `cache.close()` aborts the current run and cancels the next.
 * Its timer does not keep the process alive.
 *
 * Loaders are read anew on every run, so they must be functions (or arrays, read again as they are);
 * a generator object can be read only once and is refused.
 *
 * @throws {InvalidOptionError} (`E_INVALID_OPTION`) when an argument is not what it should be.
 *
 * @example
 * const schedule = scheduleWarming(cache, [() => db.products.top(1000).map((p) => [`product:${p.id}`, p])], {
 *   every: '5m',
 *   jitter: '30s',
 *   onRun: (report) => console.log(`warmed ${report.done} in ${report.elapsedMs} ms`),
 * })
 * // later: await schedule.stop() (or just cache.close())
 */
export function scheduleWarming(
  cache: Cache,
  loaders: readonly WarmLoader[],
  options: ScheduleWarmingOptions,
): WarmingSchedule {
  assertCache(cache, 'scheduleWarming', ['setMany', 'on'])
  const given = optionsObject('scheduleWarming options', options)
  if (given.every === undefined) {
    throw new InvalidOptionError('[cachekit/patterns] scheduleWarming needs `every`, such as every: "5m"')
  }
  const everyMs = parseDuration(given.every)
  const jitterMs = given.jitter === undefined ? 0 : parseDuration(given.jitter)
  if (!(everyMs >= 1) || !Number.isFinite(everyMs) || !Number.isFinite(jitterMs)) {
    throw new InvalidOptionError(
      `[cachekit/patterns] scheduleWarming: every must be at least 1 ms and both finite, got every ${describe(given.every)}, jitter ${describe(given.jitter)}`,
    )
  }
  if (!Array.isArray(loaders)) {
    throw new InvalidOptionError(
      `[cachekit/patterns] scheduleWarming takes a list of loaders, got ${describe(loaders)}`,
    )
  }
  for (const [i, loader] of loaders.entries()) {
    if (!isReusableLoader(loader)) {
      throw new InvalidOptionError(
        `[cachekit/patterns] scheduleWarming: loader ${i} can be read only once (a generator?); pass a function returning it`,
      )
    }
  }
  if (given.immediate !== undefined && typeof given.immediate !== 'boolean') {
    throw new InvalidOptionError(
      `[cachekit/patterns] immediate must be a boolean, got ${describe(given.immediate)}`,
    )
  }
  const { every: _every, jitter: _jitter, immediate, onRun, onSkip, onError, signal, ...warmOptions } = given
  const hooks = {
    onRun: optionalFunction<(report: WarmReport) => void>('onRun', onRun),
    onSkip: optionalFunction<() => void>('onSkip', onSkip),
    onError: optionalFunction<(error: unknown) => void>('onError', onError),
  }
  if (signal !== undefined && !(signal instanceof AbortSignal)) {
    throw new InvalidOptionError(`[cachekit/patterns] signal must be an AbortSignal, got ${describe(signal)}`)
  }
  const schedule = new Schedule(cache, loaders, warmOptions, everyMs, jitterMs, hooks)
  schedule.begin(immediate ?? true, signal)
  return schedule
}

interface Hooks {
  onRun: ((report: WarmReport) => void) | undefined
  onSkip: (() => void) | undefined
  onError: ((error: unknown) => void) | undefined
}

class Schedule implements WarmingSchedule {
  runs = 0
  skipped = 0
  lastReport: WarmReport | undefined
  stopped = false
  private timer: NodeJS.Timeout | undefined
  private current: { abort: AbortController; done: Promise<void> } | undefined
  private unlisten: (() => void) | undefined
  private unlistenSignal: (() => void) | undefined

  constructor(
    private readonly cache: Cache,
    private readonly loaders: readonly WarmLoader[],
    private readonly warmOptions: WarmOptions,
    private readonly everyMs: number,
    private readonly jitterMs: number,
    private readonly hooks: Hooks,
  ) {}

  get running(): boolean {
    return this.current !== undefined
  }

  begin(immediate: boolean, signal: AbortSignal | undefined): void {
    this.unlisten = this.cache.on('close', () => void this.stop())
    if (signal) {
      if (signal.aborted) {
        void this.stop()
        return
      }
      const onAbort = () => void this.stop()
      signal.addEventListener('abort', onAbort, { once: true })
      this.unlistenSignal = () => signal.removeEventListener('abort', onAbort)
    }
    // Ticks are planned from when each is due, not from when a run ends: a run that outlasts the
    // interval makes the next tick a skip, and the schedule keeps its rhythm.
    if (immediate) this.tick()
    this.plan()
  }

  async stop(): Promise<void> {
    if (!this.stopped) {
      this.stopped = true
      clearTimeout(this.timer)
      this.unlisten?.()
      this.unlistenSignal?.()
      this.current?.abort.abort()
    }
    await this.current?.done
  }

  private plan(): void {
    if (this.stopped) return
    const wait = this.everyMs + Math.random() * this.jitterMs
    this.timer = setTimeout(() => {
      this.tick()
      this.plan()
    }, wait)
    this.timer.unref()
  }

  private tick(): void {
    if (this.stopped) return
    if (this.current) {
      this.skipped++
      guard(this.hooks.onSkip)
      return
    }
    this.runs++
    const abort = new AbortController()
    const done = warm(this.cache, this.loaders, { ...this.warmOptions, signal: abort.signal }).then(
      (report) => {
        this.lastReport = report
        guard(() => this.hooks.onRun?.(report))
        // Given a cache that was already closed, no `close` event comes: its writes say so.
        if (report.errors.some((failure) => CacheError.hasCode(failure.error, 'E_STORE_CLOSED')))
          void this.stop()
      },
      (error: unknown) => guard(() => this.hooks.onError?.(error)),
    )
    const current = {
      abort,
      done: done.finally(() => {
        if (this.current === current) this.current = undefined
      }),
    }
    this.current = current
  }
}

/** Runs a user hook; a hook that throws must not stop the schedule. */
function guard(hook: (() => void) | undefined): void {
  try {
    hook?.()
  } catch {
    // Ignored: the schedule goes on.
  }
}

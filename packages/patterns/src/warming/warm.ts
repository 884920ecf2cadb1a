import { type Cache, InvalidOptionError, type SetManyItem } from '@cachekit/core'
import { assertCache, describe, integerOption, optionalFunction, optionsObject } from '../options.js'
import { isLoader, LoaderFailure, LoaderSource } from './loader_source.js'
import type {
  WarmEntry,
  WarmFailure,
  WarmLoader,
  WarmOptions,
  WarmProgress,
  WarmReport,
} from './warm_types.js'

const MAX_ERRORS = 100

/**
 * Fills the cache from loaders before it serves (or on a schedule, see `scheduleWarming`): reads
 * their entries in batches of `batchSize` and writes each batch with one `cache.setMany` (every tier,
 * one L2 round trip, one bus message), `concurrency` batches at a time.
 *
 * Failures do not stop warming: a refused entry, a batch the cache rejected and a loader that threw
 * are counted in the report (and the first 100 kept in `errors`); the other loaders go on. A cache
 * reports its own L2 failures as `error` events instead of throwing them (unless `throwErrors`), so
 * with Redis down entries still count as done: they are in L1 and the fallback.
 *
 * Cancelling: when `signal` aborts, no loader is read again and no batch starts; `warm` resolves, it
 * does not reject, with `aborted: true` and the counts so far. Generators are closed (`return()`), so
 * their `finally` blocks run.
 *
 * @param loaders a list of loaders: iterables (arrays, generators, async generators) of
 *   `{ key, value, ttl?, tags?, grace? }` or `[key, value]`, or functions returning one.
 * @throws {InvalidOptionError} (`E_INVALID_OPTION`) when an argument is not what it should be.
 *
 * @example
 * const report = await warm(cache, [
 *   () => db.products.top(1000).map((p) => ({ key: `product:${p.id}`, value: p, tags: ['products'] })),
 *   async function* () { for await (const user of db.users.active()) yield [`user:${user.id}`, user] },
 * ], { concurrency: 8, onProgress: (p) => console.log(`${p.done}/${p.total ?? '?'}`), signal: AbortSignal.timeout(30_000) })
 */
export async function warm(
  cache: Cache,
  loaders: readonly WarmLoader[],
  options?: WarmOptions,
): Promise<WarmReport> {
  const run = new WarmRun(cache, loaders, options)
  return run.start()
}

class WarmRun {
  private readonly sources: LoaderSource[]
  private readonly concurrency: number
  private readonly batchSize: number
  private readonly onProgress: ((progress: WarmProgress) => void) | undefined
  private readonly signal: AbortSignal | undefined
  private readonly total: number | undefined
  private readonly startedAt = performance.now()
  private done = 0
  private failed = 0
  private failedLoaders = 0
  private readonly errors: WarmFailure[] = []

  constructor(
    private readonly cache: Cache,
    list: readonly WarmLoader[],
    given: WarmOptions | undefined,
  ) {
    assertCache(cache, 'warm', ['setMany'])
    if (!Array.isArray(list)) {
      throw new InvalidOptionError(`[cachekit/patterns] warm takes a list of loaders, got ${describe(list)}`)
    }
    for (const [i, loader] of list.entries()) {
      if (!isLoader(loader)) {
        throw new InvalidOptionError(
          `[cachekit/patterns] warm: loader ${i} must be an iterable or a function returning one, got ${describe(loader)}`,
        )
      }
    }
    const options = optionsObject('warm options', given)
    this.concurrency = integerOption('concurrency', options.concurrency, 8, 1, 256)
    this.batchSize = integerOption('batchSize', options.batchSize, 100, 1, 10_000)
    this.onProgress = optionalFunction('onProgress', options.onProgress)
    this.signal = checkSignal(options.signal)
    const givenTotal =
      options.total === undefined
        ? undefined
        : integerOption('total', options.total, 0, 0, Number.MAX_SAFE_INTEGER)
    this.total =
      givenTotal ??
      (list.every(Array.isArray)
        ? list.reduce((sum, loader) => sum + (loader as unknown[]).length, 0)
        : undefined)
    this.sources = list.map((loader, i) => new LoaderSource(i, loader))
  }

  async start(): Promise<WarmReport> {
    let onAbort: () => void = () => undefined
    const stopped = new Promise<'stopped'>((resolve) => {
      onAbort = () => resolve('stopped')
      if (this.signal?.aborted) onAbort()
      else this.signal?.addEventListener('abort', onAbort, { once: true })
    })
    const workers = Array.from({ length: this.concurrency }, (_, worker) => this.work(worker, stopped))
    try {
      await Promise.all(workers)
    } finally {
      // A signal may outlive many runs (an app's shutdown signal): leave no listener on it.
      this.signal?.removeEventListener('abort', onAbort)
    }
    for (const source of this.sources) source.close()
    return {
      ...this.progress(),
      aborted: this.isStopped() && this.sources.some((source) => !source.exhausted),
      failedLoaders: this.failedLoaders,
      errors: this.errors,
    }
  }

  private isStopped = (): boolean => this.signal?.aborted === true

  private async work(worker: number, stopped: Promise<'stopped'>): Promise<void> {
    let at = worker % this.sources.length
    while (!this.isStopped()) {
      const source = this.nextSource(at)
      if (!source) return
      at = source.index
      let entries: WarmEntry[]
      try {
        const read = await Promise.race([source.read(this.batchSize, this.isStopped), stopped])
        if (read === 'stopped') return
        entries = read
      } catch (error) {
        const failure = error instanceof LoaderFailure ? error : new LoaderFailure(error)
        this.failedLoaders++
        this.record({ loader: source.index, error: failure.error })
        entries = failure.batch
      }
      if (this.isStopped()) return
      if (entries.length > 0) await this.write(source.index, entries)
    }
  }

  /** The first loader from `at` on (wrapping around) that has entries left. */
  private nextSource(at: number): LoaderSource | undefined {
    for (let i = 0; i < this.sources.length; i++) {
      const source = this.sources[(at + i) % this.sources.length]!
      if (!source.exhausted) return source
    }
    return undefined
  }

  private async write(loader: number, entries: readonly WarmEntry[]): Promise<void> {
    const items: SetManyItem[] = []
    for (const entry of entries) {
      const item = toItem(entry)
      if (typeof item === 'string') {
        this.failed++
        this.record({
          loader,
          ...keyOf(entry),
          error: new InvalidOptionError(`[cachekit/patterns] warm: ${item}`),
        })
      } else {
        items.push(item)
      }
    }
    if (items.length > 0) {
      try {
        await this.cache.setMany(items)
        this.done += items.length
      } catch (error) {
        this.failed += items.length
        this.record({ loader, error })
      }
    }
    this.report()
  }

  private record(failure: WarmFailure): void {
    if (this.errors.length < MAX_ERRORS) this.errors.push(failure)
  }

  private report(): void {
    if (!this.onProgress) return
    try {
      this.onProgress(this.progress())
    } catch {
      // A progress display must not stop warming.
    }
  }

  private progress(): WarmProgress {
    const elapsedMs = performance.now() - this.startedAt
    return {
      done: this.done,
      failed: this.failed,
      total: this.total,
      rate: elapsedMs > 0 ? (this.done * 1000) / elapsedMs : 0,
      elapsedMs,
    }
  }
}

/** The item to write, or why the entry is refused. */
function toItem(entry: WarmEntry): SetManyItem | string {
  if (Array.isArray(entry)) {
    const [key, value] = entry as readonly [unknown, unknown]
    if (entry.length !== 2 || typeof key !== 'string' || key === '')
      return 'a pair must be [key, value] with a non-empty key'
    if (value === undefined) return `the value of "${key}" is undefined`
    return { key, value }
  }
  if (typeof entry !== 'object' || entry === null)
    return `an entry must be { key, value } or [key, value], got ${describe(entry)}`
  const { key, value, ttl, tags, grace } = entry as {
    key?: unknown
    value?: unknown
    ttl?: unknown
    tags?: unknown
    grace?: unknown
  }
  if (typeof key !== 'string' || key === '')
    return `an entry needs a non-empty string key, got ${describe(key)}`
  if (value === undefined) return `the value of "${key}" is undefined`
  const item: SetManyItem = { key, value }
  if (ttl !== undefined) item.ttl = ttl as SetManyItem['ttl']
  if (tags !== undefined) item.tags = tags as SetManyItem['tags']
  if (grace !== undefined) item.grace = grace as SetManyItem['grace']
  return item
}

function keyOf(entry: unknown): { key?: string } {
  const key = Array.isArray(entry) ? entry[0] : (entry as { key?: unknown } | null)?.key
  return typeof key === 'string' ? { key } : {}
}

function checkSignal(signal: unknown): AbortSignal | undefined {
  if (signal === undefined) return undefined
  if (!(signal instanceof AbortSignal)) {
    throw new InvalidOptionError(`[cachekit/patterns] signal must be an AbortSignal, got ${describe(signal)}`)
  }
  return signal
}

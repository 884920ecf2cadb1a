import type { WarmEntry, WarmIterable, WarmLoader } from './warm_types.js'

type AnyIterator = Iterator<WarmEntry> | AsyncIterator<WarmEntry>

/**
 * One loader, read in batches. Reads of one loader are serialized (an iterator is not safe to call
 * concurrently); reads of different loaders are not, so several slow loaders are read in parallel.
 */
export class LoaderSource {
  exhausted = false
  private iterator: AnyIterator | undefined
  private lock: Promise<unknown> = Promise.resolve()

  constructor(
    readonly index: number,
    private readonly loader: WarmLoader,
  ) {}

  /**
   * Up to `max` entries; fewer (maybe none) once the loader is exhausted. `stopped` is checked
   * before every pull of the iterator, so nothing is pulled once it says so.
   */
  read(max: number, stopped: () => boolean): Promise<WarmEntry[]> {
    const next = this.lock.then(() => this.readNow(max, stopped))
    this.lock = next.catch(() => undefined)
    return next
  }

  /** Lets a generator run its `finally` blocks; errors there are not warming's. */
  close(): void {
    const iterator = this.iterator
    this.iterator = undefined
    if (!iterator?.return) return
    try {
      void Promise.resolve(iterator.return()).catch(() => undefined)
    } catch {
      // A sync `return()` that throws: nothing to do.
    }
  }

  private async readNow(max: number, stopped: () => boolean): Promise<WarmEntry[]> {
    const batch: WarmEntry[] = []
    if (this.exhausted || stopped()) return batch
    try {
      this.iterator ??= await open(this.loader)
      while (batch.length < max && !stopped()) {
        const step = this.iterator.next()
        const result = step instanceof Promise ? await step : step
        if (result.done) {
          this.exhausted = true
          this.iterator = undefined
          break
        }
        batch.push(result.value)
      }
    } catch (error) {
      this.exhausted = true
      this.iterator = undefined
      throw Object.assign(new LoaderFailure(error), { batch })
    }
    return batch
  }
}

/** A loader threw; `batch` holds what it yielded before, which is still written. */
export class LoaderFailure {
  batch: WarmEntry[] = []
  constructor(readonly error: unknown) {}
}

async function open(loader: WarmLoader): Promise<AnyIterator> {
  const iterable: WarmIterable = typeof loader === 'function' ? await loader() : loader
  if (iterable !== null && typeof iterable === 'object') {
    if (Symbol.asyncIterator in iterable) return iterable[Symbol.asyncIterator]()
    if (Symbol.iterator in iterable) return iterable[Symbol.iterator]()
  }
  throw new TypeError(`[cachekit/patterns] a warming loader gave ${typeof iterable}, not an iterable`)
}

/** True for an object that can be read again (an array, a Set) or a function, not a one-shot iterator. */
export function isReusableLoader(loader: unknown): boolean {
  if (typeof loader === 'function') return true
  if (typeof loader !== 'object' || loader === null) return false
  return typeof (loader as { next?: unknown }).next !== 'function'
}

/** True for what `warm` accepts as a loader. */
export function isLoader(loader: unknown): loader is WarmLoader {
  if (typeof loader === 'function') return true
  return (
    typeof loader === 'object' &&
    loader !== null &&
    (Symbol.iterator in loader || Symbol.asyncIterator in loader)
  )
}

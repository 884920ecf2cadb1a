import { EventEmitter } from 'node:events'
import type { Cache } from '@cachekit/core'
import type { KeyvStoreAdapter } from 'keyv'

/** Options of `keyvStore`. */
export interface KeyvStoreOptions {
  /** `disconnect()` also closes the cache. Default true, as `closeClient` everywhere in cachekit. */
  closeCache?: boolean
}

/** What Keyv reads off a store: `dialect: 'redis'` is what makes it offer `iterator()`. */
export interface KeyvStoreOpts {
  dialect: 'redis'
  [option: string]: unknown
}

/** Keys per `getMany` while iterating. */
const ITERATOR_BATCH = 100

/**
 * A Keyv v5 store over a cachekit `Cache`: Keyv and cache-manager 7 get L1 + L2, batched reads, the
 * bus between processes and the fallback while Redis is down, behind their own API.
 *
 * Keyv hands a store keys already prefixed with its namespace (`keyv:foo`) and sets
 * `store.namespace`. Here each Keyv namespace is a cachekit namespace (`cache.namespace(name)`), so
 * `clear()` clears only it, and Keyv's own ambiguity (namespace `a` with key `b:c` against
 * namespace `a:b` with key `c`) cannot make two entries collide.
 */
export class CachekitKeyvStore extends EventEmitter {
  /** Keyv reads `opts.dialect`, and its test suite sets options on it. */
  readonly opts: KeyvStoreOpts = { dialect: 'redis' }
  /** Set by Keyv to its namespace. */
  namespace: string | undefined
  private readonly views = new Map<string, Cache>()
  private readonly closeCache: boolean

  constructor(
    /** The cache underneath: for what Keyv has no word for (`getOrSet`, tags, `stats()`). */
    readonly cache: Cache,
    options: KeyvStoreOptions = {},
  ) {
    super()
    this.closeCache = options.closeCache ?? true
    // Cache failures never throw through the cache (they are served by the fallback or read as a
    // miss); they are passed on as Keyv store errors, to whoever listens (an unheard 'error' would throw).
    cache.on('error', (event) => {
      if (this.listenerCount('error') > 0) this.emit('error', event.error)
    })
  }

  async get<Value>(key: string): Promise<Value | undefined> {
    const [view, own] = this.locate(key)
    return view.get<Value>(own)
  }

  async getMany<Value>(keys: string[]): Promise<Array<Value | undefined>> {
    const view = this.view(this.namespace)
    return view.getMany<Value>(keys.map((key) => this.ownKey(key, this.namespace)))
  }

  async set(key: string, value: unknown, ttl?: number): Promise<boolean> {
    const [view, own] = this.locate(key)
    await view.set(own, value, ttlOption(ttl))
    return true
  }

  async setMany(entries: Array<{ key: string; value: unknown; ttl?: number }>): Promise<void> {
    const view = this.view(this.namespace)
    await view.setMany(
      entries.map(({ key, value, ttl }) => ({
        key: this.ownKey(key, this.namespace),
        value,
        ...ttlOption(ttl),
      })),
    )
  }

  async delete(key: string): Promise<boolean> {
    const [view, own] = this.locate(key)
    return view.delete(own)
  }

  async deleteMany(keys: string[]): Promise<boolean> {
    const view = this.view(this.namespace)
    return (await view.deleteMany(keys.map((key) => this.ownKey(key, this.namespace)))) > 0
  }

  async has(key: string): Promise<boolean> {
    const [view, own] = this.locate(key)
    return view.has(own)
  }

  async hasMany(keys: string[]): Promise<boolean[]> {
    return (await this.getMany(keys)).map((value) => value !== undefined)
  }

  /** Clears this store's namespace only (the whole cache when Keyv has none). */
  async clear(): Promise<void> {
    await this.view(this.namespace).clear()
  }

  /** Every entry of `namespace` as `[prefixed key, value]`, by SCAN on every master of L2. */
  async *iterator<Value>(namespace?: string): AsyncGenerator<[string, Value], void> {
    const view = this.view(namespace)
    const prefix = namespace ? `${namespace}:` : ''
    let batch: string[] = []
    const flush = async function* (keys: string[]): AsyncGenerator<[string, Value], void> {
      const values = await view.getMany<Value>(keys)
      for (const [i, value] of values.entries()) if (value !== undefined) yield [prefix + keys[i]!, value]
    }
    for await (const key of view.keys()) {
      batch.push(key)
      if (batch.length < ITERATOR_BATCH) continue
      yield* flush(batch)
      batch = []
    }
    if (batch.length > 0) yield* flush(batch)
  }

  async disconnect(): Promise<void> {
    if (this.closeCache) await this.cache.close()
  }

  /** The view and own key for a key Keyv prefixed with the current namespace. */
  private locate(key: string): [Cache, string] {
    return [this.view(this.namespace), this.ownKey(key, this.namespace)]
  }

  private ownKey(key: string, namespace: string | undefined): string {
    return namespace && key.startsWith(`${namespace}:`) ? key.slice(namespace.length + 1) : key
  }

  private view(namespace: string | undefined): Cache {
    if (!namespace) return this.cache
    let view = this.views.get(namespace)
    if (!view) {
      view = this.cache.namespace(namespace)
      this.views.set(namespace, view)
    }
    return view
  }
}

function ttlOption(ttl: number | undefined): { ttl?: number } {
  // Keyv's TTL is in ms; none (or 0) leaves the cache's own default.
  return typeof ttl === 'number' && ttl > 0 ? { ttl } : {}
}

/**
 * Wraps a cachekit cache as a Keyv store.
 *
 * @example
 * const keyv = new Keyv({ store: keyvStore(cache) })
 * const manager = createCache({ stores: [keyv] }) // cache-manager 7
 */
export function keyvStore(cache: Cache, options?: KeyvStoreOptions): CachekitKeyvStore & KeyvStoreAdapter {
  return new CachekitKeyvStore(cache, options) as CachekitKeyvStore & KeyvStoreAdapter
}

import { randomUUID } from 'node:crypto'
import {
  type DistributedLock,
  globPrefix,
  globToRegExp,
  type Store,
  StoreClosedError,
  StoreRefusedError,
  type StoreWrite,
} from '../../src/index.js'

/** Calls `MapStore.refuse` can make the store decline, as a full or read-only Redis would. */
export type RefusableOperation = 'get' | 'set' | 'delete' | 'clear'

/**
 * A plain Map-backed Store for core's own tests (core may not depend on @cachekit/memory). It passes
 * the Store contract suite, and `failing` makes every call reject, to stand in for a remote tier that
 * is down in tests of the cache's own logic; the Redis outage itself is tested against a real
 * redis-server in @cachekit/redis. `refuse` makes some calls reject with `StoreRefusedError` (a full
 * or read-only server), and `hold()` makes every call wait, in order, until released (a hung server
 * behind one ordered connection).
 */
export class MapStore<V> implements Store<V> {
  readonly name: string
  readonly kind: 'local' | 'remote'
  failing = false
  /** Operations refused with `StoreRefusedError` (`setMany` follows `set`), as a server that said no. */
  readonly refuse = new Set<RefusableOperation>()
  calls = 0
  private gate: Promise<void> | undefined
  private readonly data = new Map<string, { value: V; expiresAt: number }>()
  private closed = false

  constructor(options: { name?: string; kind?: 'local' | 'remote'; sync?: boolean } = {}) {
    this.name = options.name ?? 'map'
    this.kind = options.kind ?? 'local'
    if (options.sync === false) this.getSync = undefined
  }

  getSync?: (key: string) => V | undefined = (key) => this.read(key)

  /** A lock with owner tokens and TTLs, like Redis' SET NX PX, for distributed single flight tests. */
  readonly lock: DistributedLock = {
    acquire: async (key, ttlMs) => {
      this.check()
      const held = this.locks.get(key)
      if (held && Date.now() < held.expiresAt) return undefined
      const token = randomUUID()
      this.locks.set(key, { token, expiresAt: Date.now() + ttlMs })
      return token
    },
    release: async (key, token) => {
      this.check()
      if (this.locks.get(key)?.token !== token) return false
      return this.locks.delete(key)
    },
  }
  private readonly locks = new Map<string, { token: string; expiresAt: number }>()

  async get(key: string): Promise<V | undefined> {
    this.check('get')
    if (this.gate) await this.gate
    return this.read(key)
  }

  async getMany(keys: readonly string[]): Promise<Array<V | undefined>> {
    this.check('get')
    if (this.gate) await this.gate
    return keys.map((key) => this.read(key))
  }

  async set(key: string, value: V, ttlMs?: number): Promise<void> {
    this.check('set')
    if (this.gate) await this.gate
    this.data.set(key, {
      value,
      expiresAt: ttlMs === undefined ? Number.POSITIVE_INFINITY : Date.now() + ttlMs,
    })
  }

  async setMany(writes: readonly StoreWrite<V>[]): Promise<void> {
    this.check('set')
    if (this.gate) await this.gate
    for (const write of writes) await this.set(write.key, write.value, write.ttlMs)
  }

  async delete(keys: readonly string[]): Promise<number> {
    this.check('delete')
    if (this.gate) await this.gate
    let count = 0
    for (const key of keys) if (this.read(key) !== undefined && this.data.delete(key)) count++
    return count
  }

  async clear(prefix = ''): Promise<number> {
    this.check('clear')
    if (this.gate) await this.gate
    const keys = [...this.data.keys()].filter((key) => key.startsWith(prefix) && this.read(key) !== undefined)
    for (const key of keys) this.data.delete(key)
    return keys.length
  }

  async *scan(pattern: string): AsyncIterable<string> {
    this.check()
    const regexp = globToRegExp(pattern)
    const prefix = globPrefix(pattern)
    for (const key of [...this.data.keys()]) {
      if (key.startsWith(prefix) && regexp.test(key) && this.read(key) !== undefined) yield key
    }
  }

  /** Live entries in insertion order (a Map has no recency), as a local store's `entries`. */
  *entries(prefix: string): Iterable<readonly [string, V]> {
    this.check()
    for (const key of [...this.data.keys()]) {
      const value = this.read(key)
      if (key.startsWith(prefix) && value !== undefined) yield [key, value]
    }
  }

  async close(): Promise<void> {
    this.closed = true
  }

  /**
   * Makes every later call wait until the returned function is called; they then run in the order
   * they were made, as commands queued on one connection to a hung server would.
   */
  hold(): () => void {
    let release!: () => void
    const gate = new Promise<void>((resolve) => {
      release = resolve
    })
    this.gate = gate
    return () => {
      release()
      // Calls made right after the release still queue behind the held ones, as on a connection;
      // the gate goes once they all ran.
      setImmediate(() => {
        if (this.gate === gate) this.gate = undefined
      })
    }
  }

  /** Writes raw data, bypassing everything, as another program would. */
  poke(key: string, value: V): void {
    this.data.set(key, { value, expiresAt: Number.POSITIVE_INFINITY })
  }

  keys(): string[] {
    return [...this.data.keys()]
  }

  private read(key: string): V | undefined {
    const slot = this.data.get(key)
    if (!slot) return undefined
    if (Date.now() >= slot.expiresAt) {
      this.data.delete(key)
      return undefined
    }
    return slot.value
  }

  private check(operation?: RefusableOperation): void {
    this.calls++
    if (this.closed) throw new StoreClosedError(this.name)
    if (this.failing) throw new Error(`${this.name} is down`)
    if (operation && this.refuse.has(operation)) {
      throw new StoreRefusedError(this.name, operation, {
        cause: new Error("READONLY You can't write against a read only replica."),
      })
    }
  }
}

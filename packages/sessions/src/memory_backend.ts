import type {
  CreateOptions,
  CreateResult,
  Listed,
  PatchResult,
  ReadResult,
  RegenerateResult,
  SessionBackend,
  StoredField,
  TouchResult,
} from './backend.js'
import type { SessionKeys } from './keys.js'

interface Stored {
  fields: Map<string, Uint8Array>
  version: number
  /** Absolute deadline, ms; 0 for none. */
  deadline: number
  expiresAt: number
}

/**
 * Sessions in this process, for development and tests: the Redis backend's contract (versions,
 * tombstones, the per-user index, limits) with plain maps and lazy expiry, and no timer. Sessions
 * are data, so nothing here is ever evicted for room; a process restart loses them all.
 */
export class MemorySessionBackend implements SessionBackend {
  readonly name = 'memory'
  private readonly sessions = new Map<string, Stored>()
  private readonly tombstones = new Map<string, number>()
  /** Index key -> random -> expiry. */
  private readonly indexes = new Map<string, Map<string, number>>()
  private tombstonesWritten = 0

  constructor(private readonly now: () => number = Date.now) {}

  async create(
    keys: SessionKeys,
    random: string,
    fields: readonly StoredField[],
    options: CreateOptions,
  ): Promise<CreateResult> {
    const now = this.now()
    const index = this.index(keys.index, now)
    const evicted: string[] = []
    if (options.maxPerUser > 0 && index.size >= options.maxPerUser) {
      if (options.onLimit === 'refuse') return { status: 'limit' }
      const byExpiry = [...index.entries()].sort((a, b) => a[1] - b[1])
      for (const [victim] of byExpiry.slice(0, index.size - options.maxPerUser + 1)) {
        this.remove(keys.base, victim, index, now, options.ttlMs)
        evicted.push(victim)
      }
    }
    const deadline = options.absoluteMs > 0 ? now + options.absoluteMs : 0
    const expiresAt = expiry(now, options.ttlMs, deadline)
    this.sessions.set(keys.session, { fields: new Map(fields), version: 1, deadline, expiresAt })
    index.set(random, expiresAt)
    return { status: 'ok', expiresAt, evicted }
  }

  async read(keys: SessionKeys, random: string, slide: boolean, ttlMs: number): Promise<ReadResult> {
    const now = this.now()
    const stored = this.live(keys.session, now)
    if (!stored) {
      if (this.tombstoned(keys.tombstone, now)) return { status: 'destroyed' }
      const index = this.indexes.get(keys.index)
      if (index?.delete(random)) return { status: 'expired' }
      return { status: 'missing' }
    }
    if (slide) {
      stored.expiresAt = expiry(now, ttlMs, stored.deadline)
      this.indexes.get(keys.index)?.set(random, stored.expiresAt)
    }
    const fields = new Map(stored.fields)
    return { status: 'ok', expiresAt: stored.expiresAt, version: stored.version, fields }
  }

  async patch(
    keys: SessionKeys,
    expectedVersion: number | undefined,
    set: readonly StoredField[],
    remove: readonly string[],
  ): Promise<PatchResult> {
    const now = this.now()
    const stored = this.live(keys.session, now)
    if (!stored) return this.gone(keys, now)
    if (expectedVersion !== undefined && stored.version !== expectedVersion) return { status: 'conflict' }
    for (const [name, bytes] of set) stored.fields.set(name, bytes)
    for (const name of remove) stored.fields.delete(name)
    stored.version++
    return {
      status: 'ok',
      expiresAt: stored.expiresAt,
      version: stored.version,
      fields: new Map(stored.fields),
    }
  }

  async touch(keys: SessionKeys, random: string, ttlMs: number): Promise<TouchResult> {
    const now = this.now()
    const stored = this.live(keys.session, now)
    if (!stored) return this.gone(keys, now)
    stored.expiresAt = expiry(now, ttlMs, stored.deadline)
    this.indexes.get(keys.index)?.set(random, stored.expiresAt)
    return { status: 'ok', expiresAt: stored.expiresAt }
  }

  async destroy(
    base: string,
    indexKey: string,
    randoms: readonly string[],
    ttlMs: number,
  ): Promise<string[]> {
    const now = this.now()
    const index = this.index(indexKey, now)
    return randoms.filter((random) => this.remove(base, random, index, now, ttlMs))
  }

  async regenerate(
    from: SessionKeys,
    to: SessionKeys,
    fromRandom: string,
    toRandom: string,
    expectedVersion: number,
    ttlMs: number,
    fields: readonly StoredField[],
  ): Promise<RegenerateResult> {
    const now = this.now()
    const stored = this.live(from.session, now)
    if (!stored) return this.gone(from, now)
    if (stored.version !== expectedVersion) return { status: 'conflict' }
    const index = this.index(from.index, now)
    this.remove(from.base, fromRandom, index, now, ttlMs)
    const expiresAt = expiry(now, ttlMs, stored.deadline)
    this.sessions.set(to.session, {
      fields: new Map(fields),
      version: 1,
      deadline: stored.deadline,
      expiresAt,
    })
    index.set(toRandom, expiresAt)
    return { status: 'ok', expiresAt }
  }

  async list(base: string, indexKey: string): Promise<Listed[]> {
    const now = this.now()
    const listed: Listed[] = []
    const index = this.index(indexKey, now)
    for (const [random, expiresAt] of [...index.entries()].sort((a, b) => a[1] - b[1])) {
      const meta = this.live(`${base}s:${random}`, now)?.fields.get('~m')
      if (meta) listed.push({ random, expiresAt, meta })
      else index.delete(random)
    }
    return listed
  }

  async count(): Promise<number> {
    const now = this.now()
    let count = 0
    for (const key of [...this.sessions.keys()]) if (this.live(key, now)) count++
    return count
  }

  async counted(): Promise<void> {
    // `count` walks the sessions themselves: nothing to keep in step.
  }

  async close(): Promise<void> {
    this.sessions.clear()
    this.tombstones.clear()
    this.indexes.clear()
  }

  private live(key: string, now: number): Stored | undefined {
    const stored = this.sessions.get(key)
    if (stored && stored.expiresAt <= now) {
      this.sessions.delete(key)
      return undefined
    }
    return stored
  }

  private tombstoned(key: string, now: number): boolean {
    const until = this.tombstones.get(key)
    if (until === undefined) return false
    if (until > now) return true
    this.tombstones.delete(key)
    return false
  }

  private gone(keys: SessionKeys, now: number): { status: 'destroyed' } | { status: 'missing' } {
    return this.tombstoned(keys.tombstone, now) ? { status: 'destroyed' } : { status: 'missing' }
  }

  /** The index at `key`, without what expired. */
  private index(key: string, now: number): Map<string, number> {
    let index = this.indexes.get(key)
    if (!index) {
      index = new Map()
      this.indexes.set(key, index)
    }
    for (const [random, expiresAt] of index) if (expiresAt <= now) index.delete(random)
    return index
  }

  private remove(
    base: string,
    random: string,
    index: Map<string, number>,
    now: number,
    ttlMs: number,
  ): boolean {
    index.delete(random)
    const key = `${base}s:${random}`
    const stored = this.live(key, now)
    if (!stored) return false
    this.sessions.delete(key)
    const tombstoneMs = stored.deadline > now ? stored.deadline - now : ttlMs
    if (++this.tombstonesWritten % TOMBSTONE_SWEEP_EVERY === 0) this.sweepTombstones(now)
    this.tombstones.set(`${base}t:${random}`, now + tombstoneMs)
    return true
  }

  /** Tombstones are read lazily; every few thousand written, the expired ones go (amortized O(1)). */
  private sweepTombstones(now: number): void {
    for (const [key, until] of this.tombstones) if (until <= now) this.tombstones.delete(key)
  }
}

const TOMBSTONE_SWEEP_EVERY = 4096

function expiry(now: number, ttlMs: number, deadline: number): number {
  const at = now + ttlMs
  return deadline > 0 && deadline < at ? deadline : at
}

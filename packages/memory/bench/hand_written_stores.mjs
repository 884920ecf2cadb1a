// The hand-written alternatives to lru-cache that bench/lru_choice.mjs measures. Each has the hot
// path of the real store (closed check, TTL validation, sizeOf, entry and byte bounds, eviction
// causes, counters, an async `set`), so the comparison is store against store, not toy against store.
import { InvalidOptionError, StoreClosedError, ValueTooLargeError } from '@cachekit/core'
import { defaultSizeOf } from '../dist/index.js'

const NEVER = Number.POSITIVE_INFINITY

class HandWrittenBase {
  constructor({ maxEntries, maxBytes = NEVER }) {
    this.name = 'memory'
    this.maxEntries = maxEntries
    this.maxBytes = maxBytes
    this.closed = false
    this.bytes = 0
    this.hits = 0
    this.misses = 0
    this.evictedByEntries = 0
    this.evictedByBytes = 0
    this.expirations = 0
  }

  getSync(key) {
    if (this.closed) throw new StoreClosedError(this.name)
    return this.read(key)
  }

  get(key) {
    if (this.closed) return Promise.reject(new StoreClosedError(this.name))
    return Promise.resolve(this.read(key))
  }

  async set(key, value, ttlMs) {
    if (this.closed) throw new StoreClosedError(this.name)
    if (ttlMs !== undefined && !(ttlMs > 0)) throw new InvalidOptionError('ttlMs must be positive')
    const expiresAt = ttlMs === undefined || ttlMs === NEVER ? NEVER : Date.now() + ttlMs
    const measured = defaultSizeOf(value, key)
    if (!Number.isFinite(measured) || measured < 0) throw new InvalidOptionError('bad size')
    const size = Math.max(1, Math.ceil(measured))
    if (size > this.maxBytes) throw new ValueTooLargeError(size, this.maxBytes, 'too large', { key })
    this.write(key, value, size, expiresAt)
  }

  countEviction(expiresAt, cause) {
    if (expiresAt !== NEVER && expiresAt <= Date.now()) this.expirations++
    else if (cause === 'entries') this.evictedByEntries++
    else this.evictedByBytes++
  }
}

/** Map of key to node, nodes in a doubly linked list from least to most recently used. */
export class LinkedListStore extends HandWrittenBase {
  constructor(options) {
    super(options)
    this.map = new Map()
    this.head = null
    this.tail = null
  }

  read(key) {
    const node = this.map.get(key)
    if (node === undefined) {
      this.misses++
      return undefined
    }
    if (node.expiresAt !== NEVER && node.expiresAt <= Date.now()) {
      this.drop(node)
      this.expirations++
      this.misses++
      return undefined
    }
    if (node !== this.tail) {
      this.unlink(node)
      this.append(node)
    }
    this.hits++
    return node.value
  }

  write(key, value, size, expiresAt) {
    let node = this.map.get(key)
    if (node !== undefined) {
      this.bytes += size - node.size
      node.value = value
      node.size = size
      node.expiresAt = expiresAt
      if (node !== this.tail) {
        this.unlink(node)
        this.append(node)
      }
    } else {
      if (this.map.size >= this.maxEntries) this.evict('entries')
      node = { key, value, size, expiresAt, prev: null, next: null }
      this.map.set(key, node)
      this.append(node)
      this.bytes += size
    }
    while (this.bytes > this.maxBytes && this.head !== node) this.evict('bytes')
  }

  evict(cause) {
    const node = this.head
    this.drop(node)
    this.countEviction(node.expiresAt, cause)
  }

  drop(node) {
    this.unlink(node)
    this.map.delete(node.key)
    this.bytes -= node.size
  }

  unlink(node) {
    if (node.prev) node.prev.next = node.next
    else this.head = node.next
    if (node.next) node.next.prev = node.prev
    else this.tail = node.prev
    node.prev = node.next = null
  }

  append(node) {
    node.prev = this.tail
    if (this.tail) this.tail.next = node
    else this.head = node
    this.tail = node
  }
}

/** A Map alone: a read re-inserts the key so insertion order is use order; evict the first key. */
export class MapOrderStore extends HandWrittenBase {
  constructor(options) {
    super(options)
    this.map = new Map()
  }

  read(key) {
    const slot = this.map.get(key)
    if (slot === undefined) {
      this.misses++
      return undefined
    }
    this.map.delete(key)
    if (slot.expiresAt !== NEVER && slot.expiresAt <= Date.now()) {
      this.bytes -= slot.size
      this.expirations++
      this.misses++
      return undefined
    }
    this.map.set(key, slot)
    this.hits++
    return slot.value
  }

  write(key, value, size, expiresAt) {
    const old = this.map.get(key)
    if (old !== undefined) {
      this.map.delete(key)
      this.bytes -= old.size
    } else if (this.map.size >= this.maxEntries) {
      this.evict('entries')
    }
    this.map.set(key, { value, size, expiresAt })
    this.bytes += size
    while (this.bytes > this.maxBytes && this.map.size > 1) this.evict('bytes')
  }

  evict(cause) {
    const key = this.map.keys().next().value
    const slot = this.map.get(key)
    this.map.delete(key)
    this.bytes -= slot.size
    this.countEviction(slot.expiresAt, cause)
  }
}

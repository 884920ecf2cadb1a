import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { CacheError } from '../errors.js'
import { escapeGlob } from '../glob.js'
import type { Store } from '../store.js'

/** How to run the Store contract suite against one implementation. */
export interface StoreContractOptions {
  /** Creates a fresh, empty store for one test. Called before every test; closed after it. */
  createStore: () => Store<Uint8Array> | Promise<Store<Uint8Array>>
  /** Size of the "large value" case; defaults to 4 MiB. */
  largeValueBytes?: number
  /** How many keys the bulk scan case writes; defaults to 2,500 (more than one SCAN page). */
  bulkKeyCount?: number
}

const bytes = (...values: number[]) => Uint8Array.from(values)
const text = (value: string) => new TextEncoder().encode(value)

/**
 * Stores may answer with any Uint8Array (Redis clients give Buffers), so values are compared by
 * content: each becomes a plain array of byte values.
 */
const plain = (value: Uint8Array | undefined) => (value === undefined ? undefined : Array.from(value))
const plainAll = (values: Array<Uint8Array | undefined>) => values.map(plain)
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

async function collect(iterable: AsyncIterable<string>): Promise<string[]> {
  const keys: string[] = []
  for await (const key of iterable) keys.push(key)
  return keys
}

/** Polls until `read` gives `undefined`, for at most `limitMs`; expiry is never exactly on time. */
async function waitForMiss(read: () => Promise<unknown>, limitMs: number): Promise<unknown> {
  const deadline = Date.now() + limitMs
  let value = await read()
  while (value !== undefined && Date.now() < deadline) {
    await sleep(10)
    value = await read()
  }
  return value
}

/**
 * The one test suite every `Store` must pass: values, TTLs, batches, deletes, prefix clears, glob
 * scans (with glob characters inside keys), binary and large values, and concurrent writers.
 * Call it inside a test file; third-party stores can run it too.
 *
 * @example
 * storeContractSuite('memory', { createStore: () => memoryStore({ maxEntries: 10_000 }) })
 */
export function storeContractSuite(name: string, options: StoreContractOptions): void {
  const largeValueBytes = options.largeValueBytes ?? 4 * 1024 * 1024
  const bulkKeyCount = options.bulkKeyCount ?? 2_500

  describe(`Store contract: ${name}`, () => {
    let store: Store<Uint8Array>

    beforeEach(async () => {
      store = await options.createStore()
    })

    afterEach(async () => {
      await store.close().catch(() => undefined)
    })

    describe('get and set', () => {
      it('misses a key that was never set', async () => {
        expect(await store.get('never:set')).toBeUndefined()
      })

      it('returns exactly the bytes that were set', async () => {
        const allByteValues = Uint8Array.from({ length: 256 }, (_, i) => i)
        await store.set('binary', allByteValues)
        const read = await store.get('binary')
        expect(read).toBeInstanceOf(Uint8Array)
        expect(Buffer.from(read!).equals(Buffer.from(allByteValues))).toBe(true)
      })

      it('keeps an empty value apart from a missing one', async () => {
        await store.set('empty', new Uint8Array(0))
        const read = await store.get('empty')
        expect(read).toBeInstanceOf(Uint8Array)
        expect(read!.byteLength).toBe(0)
      })

      it('overwrites a value', async () => {
        await store.set('k', text('first'))
        await store.set('k', text('second'))
        expect(Buffer.from((await store.get('k'))!).toString()).toBe('second')
      })

      it('round-trips a large value', async () => {
        const large = new Uint8Array(largeValueBytes)
        for (let i = 0; i < large.length; i += 4093) large[i] = i % 251
        await store.set('large', large)
        const read = await store.get('large')
        expect(read?.byteLength).toBe(largeValueBytes)
        expect(Buffer.from(read!).equals(Buffer.from(large))).toBe(true)
      })

      it('treats keys with separators, spaces, unicode and glob characters as plain strings', async () => {
        const keys = ['a:b:c', 'with space', 'ünïcødé:🔑', 'glob*?[x]\\', '']
        for (const [i, key] of keys.entries()) await store.set(key, bytes(i))
        for (const [i, key] of keys.entries()) expect(plain(await store.get(key))).toEqual(plain(bytes(i)))
      })
    })

    describe('TTL', () => {
      it('serves a value before its TTL and never after it', async () => {
        await store.set('short', text('v'), 120)
        expect(plain(await store.get('short'))).toEqual(plain(text('v')))
        const after = await waitForMiss(() => store.get('short'), 2_000)
        expect(after).toBeUndefined()
        await sleep(20)
        expect(plainAll(await store.getMany(['short']))).toEqual(plainAll([undefined]))
      })

      it('keeps a value without TTL', async () => {
        await store.set('forever', text('v'))
        await store.set('brief', text('v'), 40)
        await waitForMiss(() => store.get('brief'), 2_000)
        expect(plain(await store.get('forever'))).toEqual(plain(text('v')))
      })

      it('replaces the TTL when a key is written again', async () => {
        await store.set('k', text('old'), 60)
        await store.set('k', text('new'))
        await sleep(150)
        expect(plain(await store.get('k'))).toEqual(plain(text('new')))
      })

      it('gives each write of setMany its own TTL', async () => {
        await store.setMany([
          { key: 'a', value: text('a'), ttlMs: 50 },
          { key: 'b', value: text('b') },
        ])
        await waitForMiss(() => store.get('a'), 2_000)
        expect(plainAll(await store.getMany(['a', 'b']))).toEqual(plainAll([undefined, text('b')]))
      })
    })

    describe('batches', () => {
      it('getMany answers in the order asked, undefined where missing, repeated keys included', async () => {
        await store.setMany([
          { key: 'x', value: bytes(1) },
          { key: 'y', value: bytes(2) },
        ])
        expect(plainAll(await store.getMany(['y', 'missing', 'x', 'y']))).toEqual(
          plainAll([bytes(2), undefined, bytes(1), bytes(2)]),
        )
      })

      it('handles empty batches', async () => {
        expect(plainAll(await store.getMany([]))).toEqual(plainAll([]))
        await store.setMany([])
        expect(await store.delete([])).toBe(0)
      })

      it('writes and reads a batch of many keys', async () => {
        const writes = Array.from({ length: 500 }, (_, i) => ({ key: `batch:${i}`, value: text(`v${i}`) }))
        await store.setMany(writes)
        const read = await store.getMany(writes.map((write) => write.key))
        expect(plainAll(read)).toEqual(plainAll(writes.map((write) => write.value)))
      })
    })

    describe('delete and clear', () => {
      it('deletes keys and counts only those that existed', async () => {
        await store.setMany([
          { key: 'd1', value: bytes(1) },
          { key: 'd2', value: bytes(2) },
          { key: 'keep', value: bytes(3) },
        ])
        expect(await store.delete(['d1', 'd2', 'absent'])).toBe(2)
        expect(plainAll(await store.getMany(['d1', 'd2', 'keep']))).toEqual(
          plainAll([undefined, undefined, bytes(3)]),
        )
        expect(await store.delete(['d1'])).toBe(0)
      })

      it('clears by prefix only', async () => {
        await store.setMany([
          { key: 'user:1', value: bytes(1) },
          { key: 'user:2', value: bytes(2) },
          { key: 'users', value: bytes(3) },
          { key: 'order:1', value: bytes(4) },
        ])
        expect(await store.clear('user:')).toBe(2)
        expect(plainAll(await store.getMany(['user:1', 'user:2', 'users', 'order:1']))).toEqual(
          plainAll([undefined, undefined, bytes(3), bytes(4)]),
        )
      })

      it('takes glob characters in a clear prefix literally', async () => {
        await store.setMany([
          { key: 'a*:1', value: bytes(1) },
          { key: 'ab:1', value: bytes(2) },
          { key: 'a?:1', value: bytes(3) },
        ])
        expect(await store.clear('a*:')).toBe(1)
        expect(plainAll(await store.getMany(['a*:1', 'ab:1', 'a?:1']))).toEqual(
          plainAll([undefined, bytes(2), bytes(3)]),
        )
      })

      it('clears everything when no prefix is given', async () => {
        await store.setMany([
          { key: 'one', value: bytes(1) },
          { key: 'two', value: bytes(2) },
        ])
        expect(await store.clear()).toBe(2)
        expect(plainAll(await store.getMany(['one', 'two']))).toEqual(plainAll([undefined, undefined]))
        expect(await collect(store.scan('*'))).toEqual([])
      })
    })

    describe('scan', () => {
      beforeEach(async () => {
        await store.setMany(
          ['user:1', 'user:2', 'user:10', 'users', 'order:1', 'a*b', 'axb', 'a?b', 'a[b]', 'a\\b'].map(
            (key) => ({
              key,
              value: text(key),
            }),
          ),
        )
      })

      it('matches *, ? and character classes as Redis does', async () => {
        expect((await collect(store.scan('user:*'))).sort()).toEqual(['user:1', 'user:10', 'user:2'])
        expect((await collect(store.scan('user:?'))).sort()).toEqual(['user:1', 'user:2'])
        expect((await collect(store.scan('user:[12]'))).sort()).toEqual(['user:1', 'user:2'])
        expect((await collect(store.scan('user:[^1]'))).sort()).toEqual(['user:2'])
        expect((await collect(store.scan('order:1'))).sort()).toEqual(['order:1'])
        expect(await collect(store.scan('nothing:*'))).toEqual([])
      })

      it('matches glob characters inside keys only when escaped', async () => {
        expect(await collect(store.scan(escapeGlob('a*b')))).toEqual(['a*b'])
        expect(await collect(store.scan(escapeGlob('a?b')))).toEqual(['a?b'])
        expect(await collect(store.scan(escapeGlob('a[b]')))).toEqual(['a[b]'])
        expect(await collect(store.scan(escapeGlob('a\\b')))).toEqual(['a\\b'])
        expect((await collect(store.scan('a?b'))).sort()).toEqual(['a*b', 'a?b', 'a\\b', 'axb'])
        expect((await collect(store.scan(`${escapeGlob('a*')}*`))).sort()).toEqual(['a*b'])
      })

      it('yields every matching key exactly once across many pages', async () => {
        const keys = Array.from({ length: bulkKeyCount }, (_, i) => `bulk:${i}`)
        await store.setMany(keys.map((key) => ({ key, value: bytes(1) })))
        const seen = await collect(store.scan('bulk:*'))
        expect(seen.length).toBe(bulkKeyCount)
        expect(new Set(seen)).toEqual(new Set(keys))
      })

      it('does not yield expired keys', async () => {
        await store.set('user:brief', text('v'), 30)
        await waitForMiss(() => store.get('user:brief'), 2_000)
        expect(await collect(store.scan('user:b*'))).toEqual([])
      })
    })

    describe('concurrency', () => {
      it('keeps one whole value when many writers race on a key', async () => {
        const candidates = Array.from({ length: 50 }, (_, i) => new Uint8Array(64 * 1024).fill(i))
        await Promise.all(candidates.map((value) => store.set('contended', value)))
        const read = await store.get('contended')
        expect(read).toBeDefined()
        const first = read![0]!
        expect(read!.byteLength).toBe(64 * 1024)
        expect(read!.every((byte) => byte === first)).toBe(true)
      })

      it('loses no write when many writers use distinct keys at once', async () => {
        const keys = Array.from({ length: 200 }, (_, i) => `parallel:${i}`)
        await Promise.all(keys.map((key, i) => store.set(key, text(String(i)))))
        expect(plainAll(await store.getMany(keys))).toEqual(plainAll(keys.map((_, i) => text(String(i)))))
      })
    })

    describe('close', () => {
      it('rejects operations after close with E_STORE_CLOSED', async () => {
        await store.set('k', bytes(1))
        await store.close()
        const failure = await store.get('k').then(
          () => undefined,
          (error: unknown) => error,
        )
        expect(CacheError.hasCode(failure, 'E_STORE_CLOSED')).toBe(true)
      })
    })
  })
}

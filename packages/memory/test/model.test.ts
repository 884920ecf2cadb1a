import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { memoryStore } from '../src/index.js'
import { collect, rejection } from './support/helpers.js'

/** One operation of a random sequence; keys come from a small set so they collide often. */
type Op =
  | { op: 'set'; key: string; value: number }
  | { op: 'setMany'; writes: Array<{ key: string; value: number }> }
  | { op: 'get'; key: string }
  | { op: 'getSync'; key: string }
  | { op: 'getMany'; keys: string[] }
  | { op: 'delete'; keys: string[] }
  | { op: 'clear'; prefix: string }
  | { op: 'scan'; pattern: string }

/** What each scanned pattern means, spelled out without a glob engine. */
const patterns: Record<string, (candidate: string) => boolean> = {
  '*': () => true,
  'a:*': (k) => k.startsWith('a:'),
  'a:?': (k) => k.length === 3 && k.startsWith('a:'),
  'b:\\*': (k) => k === 'b:*',
  '[ab]*': (k) => k.startsWith('a') || k.startsWith('b'),
  ab: (k) => k === 'ab',
}

const key = fc.constantFrom('a:1', 'a:2', 'a:10', 'b:1', 'b:*', 'ab', '', 'c?')
const value = fc.integer({ min: 0, max: 255 })
const ops: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ op: fc.constant('set' as const), key, value }),
  fc.record({
    op: fc.constant('setMany' as const),
    writes: fc.array(fc.record({ key, value }), { maxLength: 4 }),
  }),
  fc.record({ op: fc.constant('get' as const), key }),
  fc.record({ op: fc.constant('getSync' as const), key }),
  fc.record({ op: fc.constant('getMany' as const), keys: fc.array(key, { maxLength: 4 }) }),
  fc.record({ op: fc.constant('delete' as const), keys: fc.array(key, { maxLength: 3 }) }),
  fc.record({ op: fc.constant('clear' as const), prefix: fc.constantFrom('', 'a:', 'a', 'b:*', 'zz') }),
  fc.record({ op: fc.constant('scan' as const), pattern: fc.constantFrom(...Object.keys(patterns)) }),
)

const bytesOf = (n: number) => Uint8Array.of(n)

describe('against a Map model', () => {
  it('answers every sequence of operations as a plain Map does, when nothing is evicted', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(ops, { maxLength: 60 }), async (sequence) => {
        const store = memoryStore({ maxEntries: 1_000 })
        const model = new Map<string, Uint8Array>()
        let hits = 0
        let misses = 0
        const read = (k: string) => {
          const found = model.get(k)
          if (found) hits++
          else misses++
          return found
        }
        for (const step of sequence) {
          switch (step.op) {
            case 'set':
              await store.set(step.key, bytesOf(step.value))
              model.set(step.key, bytesOf(step.value))
              break
            case 'setMany':
              await store.setMany(step.writes.map((w) => ({ key: w.key, value: bytesOf(w.value) })))
              for (const w of step.writes) model.set(w.key, bytesOf(w.value))
              break
            case 'get':
              expect(await store.get(step.key)).toEqual(read(step.key))
              break
            case 'getSync':
              expect(store.getSync(step.key)).toEqual(read(step.key))
              break
            case 'getMany':
              expect(await store.getMany(step.keys)).toEqual(step.keys.map(read))
              break
            case 'delete': {
              const expected = new Set(step.keys.filter((k) => model.has(k))).size
              for (const k of step.keys) model.delete(k)
              expect(await store.delete(step.keys)).toBe(expected)
              break
            }
            case 'clear': {
              const doomed = [...model.keys()].filter((k) => k.startsWith(step.prefix))
              for (const k of doomed) model.delete(k)
              expect(await store.clear(step.prefix)).toBe(doomed.length)
              break
            }
            case 'scan': {
              const expected = [...model.keys()].filter(patterns[step.pattern]!).sort()
              expect((await collect(store.scan(step.pattern))).sort()).toEqual(expected)
              break
            }
          }
        }
        const bytes = [...model.values()].reduce((sum, v) => sum + v.byteLength, 0)
        expect(store.stats()).toMatchObject({ entries: model.size, bytes, hits, misses, evictions: 0 })
      }),
      { numRuns: 300 },
    )
  })
})

/** The LRU rules as a Map whose insertion order is use order: first key = least recently used. */
class LruModel {
  readonly entries = new Map<string, number>()
  evictedByEntries = 0
  evictedByBytes = 0

  constructor(
    private readonly maxEntries: number,
    private readonly maxBytes: number,
  ) {}

  get bytes(): number {
    let total = 0
    for (const size of this.entries.values()) total += size
    return total
  }

  /** Returns false when the value is refused as too large (and the key is then gone). */
  set(key: string, size: number): boolean {
    const existed = this.entries.delete(key)
    if (size > this.maxBytes) return false
    if (!existed && this.entries.size >= this.maxEntries) {
      this.evictFirst()
      this.evictedByEntries++
    }
    while (this.bytes + size > this.maxBytes) {
      this.evictFirst()
      this.evictedByBytes++
    }
    this.entries.set(key, size)
    return true
  }

  get(key: string): number | undefined {
    const size = this.entries.get(key)
    if (size === undefined) return undefined
    this.entries.delete(key)
    this.entries.set(key, size)
    return size
  }

  private evictFirst(): void {
    const first = this.entries.keys().next()
    if (!first.done) this.entries.delete(first.value)
  }
}

describe('against an LRU model', () => {
  type LruOp =
    | { op: 'set'; key: string; size: number }
    | { op: 'get'; key: string }
    | { op: 'delete'; key: string }
  const lruKey = fc.constantFrom('a', 'b', 'c', 'd', 'e')
  const lruOps: fc.Arbitrary<LruOp> = fc.oneof(
    fc.record({ op: fc.constant('set' as const), key: lruKey, size: fc.integer({ min: 1, max: 12 }) }),
    fc.record({ op: fc.constant('get' as const), key: lruKey }),
    fc.record({ op: fc.constant('delete' as const), key: lruKey }),
  )

  it('keeps, evicts and refuses exactly what the LRU rules say, by entries and by bytes', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(lruOps, { maxLength: 80 }), async (sequence) => {
        const store = memoryStore({ maxEntries: 3, maxBytes: 10 })
        const model = new LruModel(3, 10)
        for (const step of sequence) {
          if (step.op === 'set') {
            const value = new Uint8Array(step.size)
            if (model.set(step.key, step.size)) await store.set(step.key, value)
            else
              expect(await rejection(store.set(step.key, value))).toMatchObject({ code: 'E_VALUE_TOO_LARGE' })
          } else if (step.op === 'get') {
            expect(store.getSync(step.key)?.byteLength).toBe(model.get(step.key))
          } else {
            expect(await store.delete([step.key])).toBe(model.entries.delete(step.key) ? 1 : 0)
          }
          expect((await collect(store.scan('*'))).sort()).toEqual([...model.entries.keys()].sort())
        }
        expect(store.stats()).toMatchObject({
          entries: model.entries.size,
          bytes: model.bytes,
          evictedByEntries: model.evictedByEntries,
          evictedByBytes: model.evictedByBytes,
        })
      }),
      { numRuns: 300 },
    )
  })
})

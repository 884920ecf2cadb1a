import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { CacheKeyError, stableKey } from '../src/index.js'

/** Values a method argument can hold and a key can be made of. */
const keyable = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: 'small' },
    fc.string(),
    fc.double(),
    fc.bigInt(),
    fc.boolean(),
    fc.constant(null),
    fc.constant(undefined),
    fc.date({ noInvalidDate: true }),
    fc.array(tie('value'), { maxLength: 4 }),
    fc.dictionary(fc.string({ maxLength: 4 }), tie('value'), { maxKeys: 4 }),
  ),
})).value

/** The same object with its properties written in another order, recursively. */
function reordered(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(reordered)
  if (value === null || typeof value !== 'object' || value instanceof Date) return value
  const entries = Object.entries(value).reverse()
  return Object.fromEntries(entries.map(([key, item]) => [key, reordered(item)]))
}

describe('stableKey', () => {
  it('does not depend on the order properties were written in', () => {
    fc.assert(
      fc.property(keyable, (value) => stableKey(reordered(value)) === stableKey(value)),
      { numRuns: 2_000 },
    )
  })

  it('tells apart values of different types or content', () => {
    const distinct = [
      1,
      '1',
      1n,
      true,
      'true',
      null,
      undefined,
      'null',
      [],
      {},
      [undefined],
      [null],
      new Date(0),
      new Date(0).toISOString(),
      new Set([1]),
      [1],
      new Map([[1, 1]]),
      NaN,
      'NaN',
      Infinity,
      -Infinity,
      new Uint8Array([1]),
      /a/g,
      '/a/g',
    ]
    const keys = distinct.map(stableKey)
    expect(new Set(keys).size).toBe(distinct.length)
  })

  it('is equal for values that mean the same', () => {
    expect(stableKey({ a: 1, b: undefined })).toBe(stableKey({ a: 1 }))
    expect(stableKey(-0)).toBe(stableKey(0))
    expect(
      stableKey(
        new Map([
          ['a', 1],
          ['b', 2],
        ]),
      ),
    ).toBe(
      stableKey(
        new Map([
          ['b', 2],
          ['a', 1],
        ]),
      ),
    )
    expect(stableKey(new Set(['x', 'y']))).toBe(stableKey(new Set(['y', 'x'])))
    expect(stableKey({ toJSON: () => 'same' })).toBe(stableKey('same'))
    // A sparse array reads as undefined where it has holes, as the method would see it.
    const sparse = [1, 2, 3]
    delete sparse[1]
    expect(stableKey(sparse)).toBe(stableKey([1, undefined, 3]))
  })

  it('keeps class instances apart from plain objects of the same fields', () => {
    class Point {
      constructor(readonly x: number) {}
    }
    expect(stableKey(new Point(1))).toBe('Point{"x":1}')
    expect(stableKey(new Point(1))).not.toBe(stableKey({ x: 1 }))
    expect(stableKey(Object.assign(Object.create(null), { x: 1 }))).toBe(stableKey({ x: 1 }))
  })

  it('refuses functions, symbols, cycles and deep nesting, saying where', () => {
    const cyclic: { next?: unknown } = {}
    cyclic.next = [cyclic]
    let deep: unknown = 1
    for (let i = 0; i < 40; i++) deep = [deep]
    const cases: Array<[unknown, RegExp]> = [
      [{ a: [1, () => 1] }, /value\.a\[1\] is a function/],
      [Symbol('s'), /is a symbol/],
      [{ [Symbol('s')]: 1 }, /symbol-keyed property/],
      [cyclic, /value\.next\[0\] refers back to itself/],
      [deep, /nested deeper than 32/],
      [new Map([[() => 1, 1]]), /<key 0> is a function/],
    ]
    for (const [value, message] of cases) {
      const error = (() => {
        try {
          stableKey(value)
        } catch (caught) {
          return caught
        }
      })()
      expect(error).toBeInstanceOf(CacheKeyError)
      expect((error as Error).message).toMatch(message)
    }
    // Shared references are not cycles.
    const shared = { id: 1 }
    expect(stableKey([shared, shared])).toBe('[{"id":1},{"id":1}]')
  })
})

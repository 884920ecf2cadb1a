import { CacheError, CodecEncodeError } from '@cachekit/core'
import { describe, expect, it } from 'vitest'
import { inspectEncoded, jsonCodec } from '../src/index.js'
import { bitsOf, embedding } from './support/fixtures.js'

const codec = jsonCodec()
const roundTrip = (value: unknown): unknown => codec.decode(codec.encode(value))
const isTagged = (value: unknown): boolean => inspectEncoded(codec.encode(value)).tagged

// One `describe` per row of the README's JSON table.
describe('json: types that round-trip as bare JSON', () => {
  it.each([
    ['null', null],
    ['true', true],
    ['false', false],
    ['an integer', 42],
    ['a float', 0.1 + 0.2],
    ['MAX_SAFE_INTEGER', Number.MAX_SAFE_INTEGER],
    ['the smallest subnormal', 5e-324],
    ['the largest double', Number.MAX_VALUE],
    ['a string', 'héllo wörld ✓ 🎉'],
    ['a lone surrogate', 'a\ud800b\udc00'],
    ['an empty string', ''],
    ['nested objects and arrays', { a: [1, { b: 'c' }, []], d: {} }],
  ])('%s', (_label, value) => {
    expect(roundTrip(value)).toStrictEqual(value)
    expect(isTagged(value)).toBe(false)
  })
})

describe('json: special numbers', () => {
  it.each([
    ['NaN', Number.NaN],
    ['Infinity', Number.POSITIVE_INFINITY],
    ['-Infinity', Number.NEGATIVE_INFINITY],
    ['-0', -0],
  ])('%s is preserved (tagged)', (_label, value) => {
    expect(Object.is(roundTrip(value), value)).toBe(true)
    expect(Object.is((roundTrip([value]) as number[])[0], value)).toBe(true)
    expect(isTagged(value)).toBe(true)
  })
})

describe('json: undefined', () => {
  it('round-trips at the top level', () => {
    expect(roundTrip(undefined)).toBe(undefined)
  })
  it('is dropped inside objects, as JSON does', () => {
    const decoded = roundTrip({ a: undefined, b: 1 }) as Record<string, unknown>
    expect(decoded).toStrictEqual({ b: 1 })
    expect('a' in decoded).toBe(false)
  })
  it('becomes null inside arrays, as JSON does', () => {
    expect(roundTrip([undefined, 1])).toStrictEqual([null, 1])
  })
  it('is kept as a Map key or value and as a Set member', () => {
    const map = new Map<unknown, unknown>([
      ['k', undefined],
      [undefined, 'v'],
    ])
    expect(roundTrip(map)).toStrictEqual(map)
    expect(roundTrip(new Set([undefined, 1]))).toStrictEqual(new Set([undefined, 1]))
  })
})

describe('json: tagged types', () => {
  it('BigInt, small and large, of both signs', () => {
    for (const value of [0n, 1n, -1n, 2n ** 64n, -(2n ** 200n)]) expect(roundTrip(value)).toBe(value)
  })

  it('Date, to the millisecond, and an invalid Date', () => {
    const date = new Date(Date.UTC(2024, 4, 1, 10, 0, 0, 123))
    expect(roundTrip(date)).toStrictEqual(date)
    const invalid = roundTrip(new Date(Number.NaN))
    expect(invalid).toBeInstanceOf(Date)
    expect(Number.isNaN((invalid as Date).getTime())).toBe(true)
    expect(roundTrip({ at: date })).toStrictEqual({ at: date })
  })

  it('Map with any keys and values', () => {
    const map = new Map<unknown, unknown>([
      ['a', 1],
      [2, new Date(0)],
      [{ k: 1 }, new Set([1n])],
      [null, undefined],
    ])
    expect(roundTrip(map)).toStrictEqual(map)
  })

  it('Set', () => {
    const set = new Set<unknown>([1, 'a', { b: 2 }, new Map([[1, 2]])])
    expect(roundTrip(set)).toStrictEqual(set)
  })

  it('Buffer stays a Buffer and Uint8Array stays a Uint8Array', () => {
    const buffer = Buffer.from([0, 1, 2, 255])
    const decoded = roundTrip({ buffer, bytes: new Uint8Array([9, 8]) }) as {
      buffer: unknown
      bytes: unknown
    }
    expect(Buffer.isBuffer(decoded.buffer)).toBe(true)
    expect(decoded.buffer).toStrictEqual(buffer)
    expect(Buffer.isBuffer(decoded.bytes)).toBe(false)
    expect(decoded.bytes).toStrictEqual(new Uint8Array([9, 8]))
  })

  it('every typed array, with its constructor and bytes', () => {
    const arrays = [
      new Int8Array([-128, 127]),
      new Uint8ClampedArray([0, 255]),
      new Int16Array([-32768, 32767]),
      new Uint16Array([65535]),
      new Int32Array([-(2 ** 31)]),
      new Uint32Array([2 ** 32 - 1]),
      new Float32Array([1.5, -0, Number.NaN]),
      new Float64Array([Math.PI, -0, Number.NEGATIVE_INFINITY]),
      new BigInt64Array([-(2n ** 63n), 1n]),
      new BigUint64Array([2n ** 64n - 1n]),
    ]
    for (const array of arrays) {
      const decoded = roundTrip(array) as typeof array
      expect(decoded.constructor).toBe(array.constructor)
      expect(Buffer.from(decoded.buffer)).toStrictEqual(Buffer.from(array.buffer))
    }
  })

  it('a typed array that is a view into a larger buffer keeps only its own bytes', () => {
    const backing = new Float32Array([1, 2, 3, 4])
    const view = new Float32Array(backing.buffer, 4, 2)
    expect(roundTrip(view)).toStrictEqual(new Float32Array([2, 3]))
  })

  it('a Float32Array embedding is bit-exact (NaN payloads, -0, subnormals)', () => {
    const floats = embedding()
    expect(bitsOf(roundTrip(floats) as Float32Array)).toEqual(bitsOf(floats))
  })

  it('ArrayBuffer and DataView', () => {
    const buffer = Uint8Array.from([1, 2, 3]).buffer
    expect(roundTrip(buffer)).toStrictEqual(buffer)
    const view = roundTrip(new DataView(buffer, 1, 2)) as DataView
    expect(view).toBeInstanceOf(DataView)
    expect(Array.from(new Uint8Array(view.buffer, view.byteOffset, view.byteLength))).toEqual([2, 3])
  })

  it('nests tags anywhere', () => {
    const value = {
      list: [new Set([new Map([['d', new Date(5)]])])],
      n: { big: 5n, f: new Float64Array([1]) },
    }
    expect(roundTrip(value)).toStrictEqual(value)
  })
})

describe('json: keys that look like the tag key', () => {
  const keys = ['$t', '$$t', '$$$t', 't', '$', '$tt', 'a$t', 'v']
  const object = Object.fromEntries(keys.map((key, i) => [key, i]))

  it('round-trip in bare JSON (no tag in the value)', () => {
    expect(isTagged(object)).toBe(false)
    expect(roundTrip(object)).toStrictEqual(object)
  })

  it('round-trip in tagged JSON (they are escaped)', () => {
    const value = {
      ...object,
      when: new Date(1),
      nested: [{ $t: 'D', v: 1 }],
      m: new Map([['$t', { $t: 'x' }]]),
    }
    expect(isTagged(value)).toBe(true)
    expect(roundTrip(value)).toStrictEqual(value)
  })
})

describe('json: __proto__ as an own key', () => {
  it('stays an own key and never sets a prototype, in both formats', () => {
    for (const extra of [{}, { at: new Date(0) }]) {
      const value = JSON.parse('{"__proto__": {"polluted": true}, "a": 1}') as Record<string, unknown>
      Object.assign(value, extra)
      const decoded = roundTrip(value) as Record<string, unknown>
      expect(Object.getPrototypeOf(decoded)).toBe(Object.prototype)
      expect(Object.hasOwn(decoded, '__proto__')).toBe(true)
      expect(Object.getOwnPropertyDescriptor(decoded, '__proto__')?.value).toEqual({ polluted: true })
      expect(({} as Record<string, unknown>).polluted).toBeUndefined()
    }
  })
})

describe('json: what JSON.stringify does, kept', () => {
  it('a class instance becomes a plain object of its own enumerable properties', () => {
    class Point {
      constructor(
        public x: number,
        public y: number,
      ) {}
      norm(): number {
        return Math.hypot(this.x, this.y)
      }
    }
    const decoded = roundTrip(new Point(1, 2))
    expect(decoded).toStrictEqual({ x: 1, y: 2 })
    expect(Object.getPrototypeOf(decoded)).toBe(Object.prototype)
  })

  it('an object with toJSON becomes what toJSON returns', () => {
    expect(roundTrip({ toJSON: () => 'custom' })).toBe('custom')
    expect(roundTrip({ inner: { toJSON: () => ({ y: 1 }) } })).toStrictEqual({ inner: { y: 1 } })
  })

  it('RegExp and Error become {}', () => {
    expect(roundTrip({ re: /a+/g, error: new Error('boom') })).toStrictEqual({ re: {}, error: {} })
  })

  it('functions and symbols are dropped from objects and become null in arrays', () => {
    expect(roundTrip({ f: () => 1, s: Symbol('s'), [Symbol('k')]: 1, a: 1 })).toStrictEqual({ a: 1 })
    expect(roundTrip([() => 1, Symbol('s')])).toStrictEqual([null, null])
  })

  it('sparse array holes become null', () => {
    // biome-ignore lint/suspicious/noSparseArray: the hole is what is tested
    expect(roundTrip([1, , 3])).toStrictEqual([1, null, 3])
  })

  it('boxed primitives become primitives', () => {
    expect(roundTrip([new String('s'), new Number(1), new Boolean(false)])).toStrictEqual(['s', 1, false])
  })

  it('a null-prototype object becomes a plain object', () => {
    const value = Object.assign(Object.create(null) as object, { a: 1 })
    const decoded = roundTrip(value)
    expect(decoded).toStrictEqual({ a: 1 })
    expect(Object.getPrototypeOf(decoded)).toBe(Object.prototype)
  })
})

describe('json: refused values', () => {
  it.each([
    ['a top-level function', () => 1],
    ['a top-level symbol', Symbol('s')],
  ])('%s -> CodecEncodeError', (_label, value) => {
    expect(() => codec.encode(value)).toThrow(CodecEncodeError)
  })

  it('a cycle -> CodecEncodeError that says so, and the codec keeps working', () => {
    const cyclic: Record<string, unknown> = { a: 1 }
    cyclic.self = cyclic
    let thrown: unknown
    try {
      codec.encode(cyclic)
    } catch (error) {
      thrown = error
    }
    expect(CacheError.hasCode(thrown, 'E_CODEC_ENCODE')).toBe(true)
    expect((thrown as Error).message).toMatch(/holds a cycle, which json cannot write/)
    expect(roundTrip({ a: 1 })).toStrictEqual({ a: 1 })
  })
})

import { CodecEncodeError } from '@cachekit/core'
import { C1 } from 'msgpackr'
import { describe, expect, it } from 'vitest'
import { inspectEncoded, msgpackCodec } from '../src/index.js'
import { bitsOf, embedding } from './support/fixtures.js'

const codec = msgpackCodec()
const roundTrip = (value: unknown): unknown => codec.decode(codec.encode(value))

// One `describe` per row of the README's msgpack table.
describe('msgpack: exact round-trips', () => {
  it.each([
    ['null', null],
    ['booleans', [true, false]],
    ['integers up to 2^53 and floats', [0, -1, 255, 65536, 2 ** 32, Number.MAX_SAFE_INTEGER, 0.1, 5e-324]],
    ['NaN and the infinities', [Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY]],
    ['strings', ['', 'héllo ✓ 🎉', 'x'.repeat(70_000)]],
    ['undefined at the top level', undefined],
    ['undefined in objects (key kept) and arrays', { a: undefined, list: [undefined, 1] }],
    [
      'BigInt inside and beyond 64 bits',
      [0n, -1n, 2n ** 63n - 1n, 2n ** 64n - 1n, -(2n ** 64n), 2n ** 2000n],
    ],
    ['Date and an invalid Date', [new Date(Date.UTC(2024, 4, 1, 10, 0, 0, 123)), new Date(Number.NaN)]],
    ['Set', new Set<unknown>([1, 'a', { b: [2] }])],
    ['RegExp', /a+b/giu],
    ['Buffer', Buffer.from([0, 1, 255])],
    ['Uint8Array', new Uint8Array([0, 1, 255])],
    ['ArrayBuffer', Uint8Array.from([1, 2, 3]).buffer],
    ['keys that look like tags', { $t: 1, $$t: 2, __proto_: 3 }],
  ])('%s', (_label, value) => {
    expect(roundTrip(value)).toStrictEqual(value)
  })

  it('keeps undefined object keys', () => {
    expect(Object.hasOwn(roundTrip({ a: undefined }) as object, 'a')).toBe(true)
  })

  it('Buffer stays a Buffer, Uint8Array stays a Uint8Array', () => {
    expect(Buffer.isBuffer(roundTrip(Buffer.from([1])))).toBe(true)
    expect(Buffer.isBuffer(roundTrip(new Uint8Array([1])))).toBe(false)
  })

  it('every typed array with its constructor and bytes; DataView', () => {
    const arrays = [
      new Int8Array([-128, 127]),
      new Uint8ClampedArray([0, 255]),
      new Int16Array([-32768]),
      new Uint16Array([65535]),
      new Int32Array([-(2 ** 31)]),
      new Uint32Array([2 ** 32 - 1]),
      new Float32Array([1.5, -0, Number.NaN]),
      new Float64Array([Math.PI, -0]),
      new BigInt64Array([-(2n ** 63n)]),
      new BigUint64Array([2n ** 64n - 1n]),
    ]
    for (const array of arrays) {
      const decoded = roundTrip(array) as typeof array
      expect(decoded.constructor).toBe(array.constructor)
      expect(Buffer.from(decoded.buffer, decoded.byteOffset, decoded.byteLength)).toStrictEqual(
        Buffer.from(array.buffer),
      )
    }
    const view = roundTrip(new DataView(Uint8Array.from([7, 8]).buffer)) as DataView
    expect(view).toBeInstanceOf(DataView)
    expect(view.getUint8(1)).toBe(8)
  })

  it('a Float32Array embedding is bit-exact (NaN payloads, -0, subnormals)', () => {
    const floats = embedding()
    expect(bitsOf(roundTrip(floats) as Float32Array)).toEqual(bitsOf(floats))
  })

  it('objects with more than 65,535 keys', () => {
    const big: Record<string, number> = {}
    for (let i = 0; i < 70_000; i++) big[`k${i}`] = i
    expect(roundTrip(big)).toStrictEqual(big)
    expect(roundTrip({ after: 'still fine' })).toStrictEqual({ after: 'still fine' })
  })
})

describe('msgpack: Map (tagged)', () => {
  it('round-trips with any keys, nested anywhere', () => {
    const map = new Map<unknown, unknown>([
      ['a', 1],
      [2, new Date(0)],
      [{ k: 1 }, new Set([1n])],
      [null, undefined],
    ])
    const value = { map, inSet: new Set([new Map([[1, 2]])]), inArray: [new Map()], empty: new Map() }
    expect(roundTrip(value)).toStrictEqual(value)
    expect(inspectEncoded(codec.encode(value)).tagged).toBe(true)
  })

  it('plain data takes the untagged format', () => {
    expect(inspectEncoded(codec.encode({ a: [1, { b: new Date(0) }] })).tagged).toBe(false)
  })

  it('a Map held by a class instance, and a Map subclass', () => {
    class Holder {
      map = new Map([['a', 1]])
    }
    class MyMap extends Map<number, number> {}
    expect(roundTrip(new Holder())).toStrictEqual({ map: new Map([['a', 1]]) })
    expect(roundTrip(new MyMap([[1, 2]]))).toStrictEqual(new Map([[1, 2]]))
  })

  it('arrays that start with msgpackr C1 are not mistaken for tags', () => {
    const value = [[C1, 0, 'k', 'v'], [C1], [C1, 1], new Map([[C1, [C1, 0]]])]
    expect(roundTrip(value)).toStrictEqual(value)
  })
})

describe('msgpack: what changes', () => {
  it('-0 becomes 0 (msgpack writes it as the integer 0)', () => {
    expect(Object.is(roundTrip(-0), 0)).toBe(true)
  })

  it('lone surrogates become U+FFFD (strings are UTF-8)', () => {
    expect(roundTrip('a\ud800b')).toBe('a\ufffd\ufffd\ufffdb')
  })

  it('a class instance becomes a plain object, or what its toJSON returns', () => {
    class Point {
      x = 1
      y = 2
    }
    class Money {
      cents = 150
      toJSON(): string {
        return '1.50 EUR'
      }
    }
    expect(roundTrip(new Point())).toStrictEqual({ x: 1, y: 2 })
    expect(roundTrip({ price: new Money() })).toStrictEqual({ price: '1.50 EUR' })
  })

  it('Error keeps its class, message and cause; not its stack', () => {
    const original = new TypeError('boom', { cause: 'why' })
    const decoded = roundTrip(original) as TypeError
    expect(decoded).toBeInstanceOf(TypeError)
    expect(decoded.message).toBe('boom')
    expect(decoded.cause).toBe('why')
    expect(decoded.stack).not.toBe(original.stack)
  })

  it('functions become undefined (the key is kept)', () => {
    expect(roundTrip({ f: () => 1, a: 1 })).toStrictEqual({ f: undefined, a: 1 })
  })

  it('sparse array holes become undefined', () => {
    // biome-ignore lint/suspicious/noSparseArray: the hole is what is tested
    expect(roundTrip([1, , 3])).toStrictEqual([1, undefined, 3])
  })

  it('an own __proto__ key is renamed __proto_ by msgpackr (its prototype-pollution guard)', () => {
    const decoded = roundTrip(JSON.parse('{"__proto__": {"x": 1}}')) as Record<string, unknown>
    expect(Object.getPrototypeOf(decoded)).toBe(Object.prototype)
    expect(decoded).toStrictEqual({ __proto_: { x: 1 } })
  })

  it('a null-prototype object becomes a plain object', () => {
    expect(roundTrip(Object.assign(Object.create(null) as object, { a: 1 }))).toStrictEqual({ a: 1 })
  })

  it('boxed primitives become objects of their indexed characters (unsupported)', () => {
    expect(roundTrip(new String('ab'))).toStrictEqual({ 0: 'a', 1: 'b' })
  })
})

describe('msgpack: refused values', () => {
  it('a symbol -> CodecEncodeError', () => {
    expect(() => codec.encode({ s: Symbol('s') })).toThrow(CodecEncodeError)
  })

  it('a cycle -> CodecEncodeError, and the codec keeps working', () => {
    const cyclic: Record<string, unknown> = {}
    cyclic.self = cyclic
    expect(() => codec.encode(cyclic)).toThrow(CodecEncodeError)
    expect(() => codec.encode(new Map([['m', cyclic]]))).toThrow(/holds a cycle, which msgpack cannot write/)
    expect(roundTrip({ a: 1 })).toStrictEqual({ a: 1 })
  })
})

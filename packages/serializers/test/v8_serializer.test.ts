import { CodecEncodeError } from '@cachekit/core'
import { describe, expect, it } from 'vitest'
import { createCodec, v8Serializer } from '../src/index.js'
import { bitsOf, embedding } from './support/fixtures.js'

const codec = createCodec({ serializer: v8Serializer() })
const roundTrip = (value: unknown): unknown => codec.decode(codec.encode(value))

// One `describe` per row of the README's v8 table.
describe('v8: exact round-trips', () => {
  it.each([
    ['primitives', [null, true, 1.5, 'héllo 🎉', 2n ** 100n]],
    ['special numbers', [Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY]],
    ['lone surrogates', 'a\ud800b'],
    ['undefined anywhere', [undefined, { a: undefined }]],
    ['Date and an invalid Date', [new Date(123), new Date(Number.NaN)]],
    ['Map and Set with any keys', [new Map<unknown, unknown>([[{ k: 1 }, new Set([1])]])]],
    ['RegExp', /a+/gi],
    ['Buffer', Buffer.from([1, 2])],
    ['Uint8Array', new Uint8Array([1, 2])],
    ['Float64Array', new Float64Array([Math.PI])],
    ['BigInt64Array', new BigInt64Array([-1n])],
    ['ArrayBuffer', Uint8Array.from([1, 2]).buffer],
    ['an own __proto__ key', JSON.parse('{"__proto__": 1}')],
  ])('%s', (_label, value) => {
    expect(roundTrip(value)).toStrictEqual(value)
  })

  it('DataView round-trips its bytes', () => {
    const view = roundTrip(new DataView(Uint8Array.from([7, 8]).buffer)) as DataView
    expect(view).toBeInstanceOf(DataView)
    expect([view.getUint8(0), view.getUint8(1)]).toEqual([7, 8])
  })

  it('-0', () => {
    expect(Object.is(roundTrip(-0), -0)).toBe(true)
  })

  it('sparse arrays keep their holes', () => {
    // biome-ignore lint/suspicious/noSparseArray: the hole is what is tested
    const decoded = roundTrip([1, , 3]) as unknown[]
    expect(1 in decoded).toBe(false)
    expect(decoded.length).toBe(3)
  })

  it('boxed primitives stay boxed', () => {
    expect(roundTrip(new String('s'))).toBeInstanceOf(String)
  })

  it('cycles and shared references keep their identity', () => {
    const shared = { n: 1 }
    const value: Record<string, unknown> = { a: shared, b: shared }
    value.self = value
    const decoded = roundTrip(value) as Record<string, unknown>
    expect(decoded.self).toBe(decoded)
    expect(decoded.a).toBe(decoded.b)
  })

  it('Error keeps its class, message, stack and cause', () => {
    const error = new RangeError('boom', { cause: 'why' })
    const decoded = roundTrip(error) as RangeError
    expect(decoded).toBeInstanceOf(RangeError)
    expect(decoded.message).toBe('boom')
    expect(decoded.stack).toBe(error.stack)
    expect(decoded.cause).toBe('why')
  })

  it('a Float32Array embedding is bit-exact (NaN payloads, -0, subnormals)', () => {
    const floats = embedding()
    expect(bitsOf(roundTrip(floats) as Float32Array)).toEqual(bitsOf(floats))
  })

  it('decoded typed arrays do not alias the input nor the shared Buffer pool', () => {
    const bytes = codec.encode(new Uint8Array(64).fill(7))
    const decoded = codec.decode(bytes) as Uint8Array
    expect(decoded.buffer).not.toBe(bytes.buffer)
    expect(decoded.buffer.byteLength).toBeLessThan(Buffer.poolSize)
    bytes.fill(0)
    expect(decoded.every((byte) => byte === 7)).toBe(true)
  })
})

describe('v8: what changes', () => {
  it('a class instance becomes a plain object of its own properties; toJSON is not used', () => {
    class Point {
      x = 1
      toJSON(): string {
        return 'ignored'
      }
    }
    const decoded = roundTrip(new Point())
    expect(decoded).toStrictEqual({ x: 1 })
    expect(Object.getPrototypeOf(decoded)).toBe(Object.prototype)
  })

  it('a null-prototype object becomes a plain object', () => {
    expect(Object.getPrototypeOf(roundTrip(Object.assign(Object.create(null) as object, { a: 1 })))).toBe(
      Object.prototype,
    )
  })
})

describe('v8: refused values', () => {
  it.each([
    ['a function', { f: () => 1 }],
    ['a symbol', Symbol('s')],
  ])('%s -> CodecEncodeError', (_label, value) => {
    expect(() => codec.encode(value)).toThrow(CodecEncodeError)
  })
})

import { randomBytes } from 'node:crypto'
import { InvalidOptionError } from '@cachekit/core'
import { compressSync } from 'lz4-napi'
import { describe, expect, it } from 'vitest'
import { lz4Step } from '../src/header.js'
import { createCodec, defaultCodec, inspectEncoded, lz4, msgpackCodec } from '../src/index.js'
import { decodeFailure, FORMAT, forge, serializers } from './support/fixtures.js'

const applied = (bytes: Uint8Array): boolean => inspectEncoded(bytes).transforms.some((t) => t.name === 'lz4')

describe('lz4 threshold', () => {
  const codec = defaultCodec()
  const plain = msgpackCodec()

  it('compresses a value whose serialized form is at least 1024 bytes, and the result is smaller', () => {
    // msgpack writes a string of 256..65535 bytes with a 3-byte header: 1021 chars -> 1024 bytes.
    const value = 'a'.repeat(1021)
    const bytes = codec.encode(value)
    expect(applied(bytes)).toBe(true)
    expect(bytes.length).toBeLessThan(plain.encode(value).length / 10)
    expect(codec.decode(bytes)).toBe(value)
  })

  it('leaves a value of 1023 serialized bytes alone', () => {
    const value = 'a'.repeat(1020)
    const bytes = codec.encode(value)
    expect(applied(bytes)).toBe(false)
    expect(bytes.length).toBe(plain.encode(value).length)
    expect(codec.decode(bytes)).toBe(value)
  })

  it('skips values that do not shrink, however large', () => {
    const value = randomBytes(8192)
    const bytes = codec.encode(value)
    expect(applied(bytes)).toBe(false)
    expect(codec.decode(bytes)).toStrictEqual(value)
  })

  it('takes a custom threshold; 0 tries every value', () => {
    const at64 = createCodec({ serializer: serializers.msgpack, transforms: [lz4({ threshold: 64 })] })
    expect(applied(at64.encode('b'.repeat(61)))).toBe(false) // 63 bytes
    expect(applied(at64.encode('b'.repeat(62)))).toBe(true) // 64 bytes
    const always = createCodec({ serializer: serializers.msgpack, transforms: [lz4({ threshold: 0 })] })
    expect(applied(always.encode('c'.repeat(40)))).toBe(true)
    expect(applied(always.encode(1))).toBe(false) // one byte cannot shrink
  })

  it.each([-1, 1.5, Number.NaN, Number.POSITIVE_INFINITY, '10'])('rejects threshold %s', (threshold) => {
    expect(() => lz4({ threshold: threshold as number })).toThrow(InvalidOptionError)
  })
})

describe('lz4 decoding guards', () => {
  const codec = defaultCodec()
  // msgpack str8: 0xd9, length, UTF-8 bytes
  const packedString = (text: string): Buffer => Buffer.from([0xd9, text.length, ...Buffer.from(text)])

  it('reads a block written by lz4-napi directly', () => {
    const block = compressSync(packedString('z'.repeat(200)))
    expect(codec.decode(forge(FORMAT.msgpack, [lz4Step()], block))).toBe('z'.repeat(200))
  })

  it('refuses a size prefix above maxSerializedBytes before allocating', () => {
    const value = 'q'.repeat(200_000)
    const bytes = defaultCodec().encode(value)
    const strict = createCodec({
      serializer: serializers.msgpack,
      transforms: [lz4()],
      maxSerializedBytes: 100_000,
    })
    expect(decodeFailure(() => strict.decode(bytes)).message).toMatch(
      /decompresses to 200005 bytes, above maxSerializedBytes 100000/,
    )
    expect(defaultCodec().decode(bytes)).toBe(value)
  })

  it('refuses a size prefix no LZ4 block of that length can reach', () => {
    const forged = Buffer.from([0xff, 0xff, 0xff, 0x0f, 0x00])
    expect(decodeFailure(() => codec.decode(forge(FORMAT.msgpack, [lz4Step()], forged))).message).toMatch(
      /declares more bytes than it can hold/,
    )
  })

  it('refuses a block whose output does not match its size prefix', () => {
    const block = compressSync(packedString('hello'))
    block.writeUInt32LE(block.readUInt32LE(0) + 1, 0)
    expect(decodeFailure(() => codec.decode(forge(FORMAT.msgpack, [lz4Step()], block))).message).toMatch(
      /does not match its declared size/,
    )
  })

  it('wraps lz4-napi errors with their cause', () => {
    const error = decodeFailure(() =>
      codec.decode(forge(FORMAT.msgpack, [lz4Step()], Uint8Array.from([10, 0, 0, 0, 0xf0, 1]))),
    )
    expect(error.message).toMatch(/lz4 block is corrupt/)
    expect(error.cause).toBeInstanceOf(Error)
    expect(
      decodeFailure(() => codec.decode(forge(FORMAT.msgpack, [lz4Step()], Uint8Array.from([1, 0])))).message,
    ).toMatch(/truncated/)
  })
})

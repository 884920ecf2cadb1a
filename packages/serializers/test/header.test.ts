import * as zlib from 'node:zlib'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { crc32Table, crc32Word } from '../src/checksum.js'
import { lz4Step, STEP } from '../src/header.js'
import { createCodec, inspectEncoded, jsonCodec, lz4, msgpackCodec } from '../src/index.js'
import { aesK1, decodeFailure, FORMAT, forge, serializers } from './support/fixtures.js'

function crcOf(...parts: number[][]): number {
  let crc = 0
  for (const part of parts) crc = zlib.crc32(Uint8Array.from(part), crc)
  return crc
}

function le32(value: number): number[] {
  return [value & 0xff, (value >>> 8) & 0xff, (value >>> 16) & 0xff, value >>> 24]
}

describe('header layout', () => {
  it('is 7 bytes on an unencrypted value: magic, version|format, step count, payload, trailing CRC-32', () => {
    const bytes = msgpackCodec().encode(1)
    const head = [0xc1, 0x23, 0x00]
    // The CRC covers the count of additional-data chunks (none: a u32 0), the header and the payload.
    expect(Array.from(bytes)).toEqual([...head, 0x01, ...le32(crcOf(le32(0), head, [0x01]))])
  })

  it('writes bare JSON after the header for plain data', () => {
    const bytes = Buffer.from(jsonCodec().encode({ a: 1 }))
    expect(Array.from(bytes.subarray(0, 3))).toEqual([0xc1, 0x21, 0x00])
    expect(bytes.subarray(3, -4).toString('utf8')).toBe('{"a":1}')
  })

  it('records lz4 only when it was applied', () => {
    const codec = createCodec({ serializer: serializers.msgpack, transforms: [lz4({ threshold: 16 })] })
    const small = codec.encode('tiny')
    const large = codec.encode('x'.repeat(4000))
    expect(Array.from(small.subarray(0, 3))).toEqual([0xc1, 0x23, 0x00])
    expect(Array.from(large.subarray(0, 4))).toEqual([0xc1, 0x23, 0x01, STEP.lz4])
  })

  it('names the key id and leaves the CRC out when the value is encrypted', () => {
    const codec = createCodec({
      serializer: serializers.msgpack,
      transforms: [lz4({ threshold: 0 }), aesK1()],
    })
    const bytes = codec.encode('x'.repeat(200))
    // magic, msgpack, 2 steps, lz4, aes with key id "k1"; then 12-byte IV, 16-byte tag, ciphertext
    expect(Array.from(bytes.subarray(0, 8))).toEqual([0xc1, 0x23, 0x02, 0x01, 0x02, 0x02, 0x6b, 0x31])
    expect(inspectEncoded(bytes)).toEqual({
      version: 2,
      serializer: 'msgpack',
      tagged: false,
      transforms: [{ name: 'lz4' }, { name: 'aes256gcm', keyId: 'k1' }],
      checksum: false,
      headerBytes: 8,
      payloadBytes: bytes.length - 8,
    })
  })

  it('says which format wrote a value', () => {
    expect(inspectEncoded(jsonCodec().encode(new Date(0)))).toMatchObject({
      serializer: 'json',
      tagged: true,
    })
    expect(inspectEncoded(msgpackCodec().encode(new Map()))).toMatchObject({
      serializer: 'msgpack',
      tagged: true,
    })
    expect(inspectEncoded(msgpackCodec().encode({ a: 1 }))).toMatchObject({
      serializer: 'msgpack',
      tagged: false,
    })
    const v8 = createCodec({ serializer: serializers.v8 })
    expect(inspectEncoded(v8.encode(1))).toMatchObject({ serializer: 'v8', tagged: false, checksum: true })
  })
})

describe('header parsing', () => {
  const codec = msgpackCodec()
  const cases: Array<[string, number[], RegExp]> = [
    ['empty input', [], /no 0xC1 header/],
    ['bare JSON', Array.from(Buffer.from('{"a":1}')), /no 0xC1 header/],
    ['bare msgpack', [0x81, 0xa1, 0x61, 0x01], /no 0xC1 header/],
    ['a newer version', [0xc1, 0x33, 0x00, 0, 0, 0, 0], /unknown header version 3/],
    ['the first version (CRC after the header)', [0xc1, 0x13, 0x00, 0, 0, 0, 0], /unknown header version 1/],
    ['format 0', [0xc1, 0x20, 0x00, 0, 0, 0, 0], /unknown serializer format 0/],
    ['format 9', [0xc1, 0x29, 0x00, 0, 0, 0, 0], /unknown serializer format 9/],
    ['an unknown step', [0xc1, 0x23, 0x01, 0x07, 0, 0, 0, 0], /unknown transform step 7/],
    ['a repeated step', [0xc1, 0x23, 0x02, 0x01, 0x01, 0, 0, 0, 0], /listed twice/],
    ['too many steps', [0xc1, 0x23, 0xff], /255 transform steps/],
    ['steps cut short', [0xc1, 0x23, 0x02, 0x01], /truncated/],
    ['an empty key id', [0xc1, 0x23, 0x01, 0x02, 0x00], /truncated/],
    ['a key id cut short', [0xc1, 0x23, 0x01, 0x02, 0x05, 0x6b], /truncated/],
    ['a key id that is not UTF-8', [0xc1, 0x23, 0x01, 0x02, 0x01, 0xff], /not UTF-8/],
    ['no room for the CRC', [0xc1, 0x23, 0x00, 0x00], /truncated/],
  ]
  it.each(cases)('rejects %s with E_CODEC_DECODE', (_label, bytes, message) => {
    const error = decodeFailure(() => codec.decode(Uint8Array.from(bytes)))
    expect(error.message).toMatch(message)
    expect(error.message).toMatch(/^\[cachekit\/serializers\]/)
    decodeFailure(() => inspectEncoded(Uint8Array.from(bytes)))
  })

  it('rejects a checksum mismatch', () => {
    const bytes = Buffer.from(codec.encode({ a: 1 }))
    bytes[bytes.length - 1] = bytes[bytes.length - 1]! ^ 1
    expect(decodeFailure(() => codec.decode(bytes)).message).toMatch(/checksum mismatch/)
  })

  it('a value in the version 1 layout (CRC after the header), checksum correct, is E_CODEC_DECODE naming the version', () => {
    // Version 1: header, then CRC-32 over header and payload (no chunk count), then the payload.
    const head = [0xc1, 0x13, 0x00]
    const payload = Array.from(codec.encode({ a: 1 }).subarray(3, -4))
    const v1 = Uint8Array.from([...head, ...le32(crcOf(head, payload)), ...payload])
    for (const reader of [codec, msgpackCodec({ transforms: [lz4()] }), jsonCodec()]) {
      const error = decodeFailure(() => reader.decode(v1))
      expect(error.code).toBe('E_CODEC_DECODE')
      expect(error.message).toMatch(/unknown header version 1\b/)
    }
    decodeFailure(() => inspectEncoded(v1))
    // The same payload in the version 2 layout reads.
    const v2 = Uint8Array.from([
      0xc1,
      0x23,
      0x00,
      ...payload,
      ...le32(crcOf(le32(0), [0xc1, 0x23, 0x00], payload)),
    ])
    expect(codec.decode(v2)).toEqual({ a: 1 })
  })

  it('reads a hand-built value with a correct checksum', () => {
    const reader = jsonCodec({ transforms: [lz4()] })
    expect(reader.decode(forge(FORMAT.json, [], Buffer.from('[1,"a"]')))).toEqual([1, 'a'])
    // An LZ4 block by hand: u32 LE size 4, then one literal-only sequence (token 0x40) of `"hi"`.
    const lz4Block = Uint8Array.from([4, 0, 0, 0, 0x40, 0x22, 0x68, 0x69, 0x22])
    expect(reader.decode(forge(FORMAT.json, [lz4Step()], lz4Block))).toBe('hi')
  })
})

describe('crc32', () => {
  it('the portable fallback matches zlib.crc32, also when chained', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), fc.uint8Array({ maxLength: 300 }), (a, b) => {
        expect(crc32Table(a)).toBe(zlib.crc32(a))
        expect(crc32Table(b, crc32Table(a))).toBe(zlib.crc32(b, zlib.crc32(a)))
      }),
    )
  })

  it('crc32Word continues a CRC over a u32 LE word, as zlib.crc32 of its four bytes does', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 0xffff_ffff }),
        fc.integer({ min: 0, max: 0xffff_ffff }),
        (word, previous) => {
          const bytes = Buffer.alloc(4)
          bytes.writeUInt32LE(word)
          expect(crc32Word(word, previous)).toBe(zlib.crc32(bytes, previous))
        },
      ),
    )
  })
})

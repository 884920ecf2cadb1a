import { createDecipheriv } from 'node:crypto'
import * as zlib from 'node:zlib'
import { CacheError, type CodecContext, CodecEncodeError } from '@cachekit/core'
import { describe, expect, it } from 'vitest'
import { createCodec, inspectEncoded, msgpackCodec } from '../src/index.js'
import { aesK1, allChains, decodeFailure, KEY_1, serializers } from './support/fixtures.js'

const key = Buffer.from('users:42:profile', 'utf8')
const frame = Uint8Array.from({ length: 28 }, (_, i) => i * 7)
const bound: CodecContext = { additionalData: [key, frame] }
const value = { name: 'Ada', roles: ['admin'], bio: 'x'.repeat(3000) }

function flipped(bytes: Uint8Array, bit: number): Uint8Array {
  const copy = Uint8Array.from(bytes)
  copy[bit >> 3] = copy[bit >> 3]! ^ (1 << (bit & 7))
  return copy
}

const le32 = (n: number): Buffer => {
  const word = Buffer.alloc(4)
  word.writeUInt32LE(n)
  return word
}

describe('additional data', () => {
  const chains = allChains()

  it('round-trips through every chain when decoded with the same chunks', () => {
    for (const codec of chains) {
      const bytes = codec.encode(value, bound)
      expect(codec.decode(bytes, bound), codec.name).toStrictEqual(value)
      // Equal bytes in other buffers are the same additional data.
      expect(
        codec.decode(bytes, { additionalData: [Buffer.from(key), Uint8Array.from(frame)] }),
      ).toStrictEqual(value)
    }
  })

  const others: Array<[string, CodecContext | undefined]> = [
    ['no context', undefined],
    ['an empty context', {}],
    ['no chunks', { additionalData: [] }],
    ['another key', { additionalData: [Buffer.from('users:43:profile'), frame] }],
    ['the key alone', { additionalData: [key] }],
    ['an extra chunk', { additionalData: [key, frame, new Uint8Array(0)] }],
    ['the chunks swapped', { additionalData: [frame, key] }],
    ['the chunks joined', { additionalData: [Buffer.concat([key, frame])] }],
    [
      'the boundary moved by one byte',
      { additionalData: [key.subarray(0, key.length - 1), Buffer.concat([key.subarray(-1), frame])] },
    ],
    ['a frame one byte shorter', { additionalData: [key, frame.subarray(0, 27)] }],
  ]

  it.each(others)('decoding with %s is E_CODEC_DECODE, on every chain', (_label, context) => {
    for (const codec of chains) {
      decodeFailure(() => codec.decode(codec.encode(value, bound), context))
    }
  })

  it('every single-bit flip of either chunk is E_CODEC_DECODE (plain, lz4, encrypted)', () => {
    for (const codec of chains.filter((chain) => chain.name.startsWith('msgpack'))) {
      const bytes = codec.encode(value, bound)
      for (let bit = 0; bit < key.length * 8; bit++) {
        decodeFailure(() => codec.decode(bytes, { additionalData: [flipped(key, bit), frame] }))
      }
      for (let bit = 0; bit < frame.length * 8; bit++) {
        decodeFailure(() => codec.decode(bytes, { additionalData: [key, flipped(frame, bit)] }))
      }
    }
  })

  it('an empty chunk is data too: [] and [empty] differ, and so do [a, empty] and [empty, a]', () => {
    const codec = msgpackCodec()
    const empty = new Uint8Array(0)
    const a = Uint8Array.from([97])
    decodeFailure(() => codec.decode(codec.encode(1, { additionalData: [empty] })))
    decodeFailure(() => codec.decode(codec.encode(1), { additionalData: [empty] }))
    decodeFailure(() =>
      codec.decode(codec.encode(1, { additionalData: [a, empty] }), { additionalData: [empty, a] }),
    )
    expect(codec.decode(codec.encode(1, { additionalData: [empty] }), { additionalData: [empty] })).toBe(1)
  })

  it('without a context nothing changes: the bytes are those of a codec without additional data', () => {
    const codec = msgpackCodec()
    const plain = codec.encode({ a: 1 })
    expect(Buffer.from(codec.encode({ a: 1 }, {}))).toEqual(Buffer.from(plain))
    expect(Buffer.from(codec.encode({ a: 1 }, { additionalData: [] }))).toEqual(Buffer.from(plain))
    expect(codec.decode(plain)).toStrictEqual({ a: 1 })
    decodeFailure(() => codec.decode(plain, bound))
  })

  it('adds nothing to the stored bytes', () => {
    for (const codec of chains.filter((c) => !c.name.includes('aes'))) {
      expect(codec.encode(value, bound).length).toBe(codec.encode(value).length)
    }
  })

  it('leaves the chunks as they were', () => {
    const chunk = Uint8Array.from([1, 2, 3])
    for (const codec of chains)
      codec.decode(codec.encode(value, { additionalData: [chunk] }), { additionalData: [chunk] })
    expect(Array.from(chunk)).toEqual([1, 2, 3])
  })
})

describe('the wire format of additional data', () => {
  it('CRC-32 over header, then u32 LE length and bytes of each chunk, then the payload', () => {
    const bytes = Buffer.from(msgpackCodec().encode('hi', bound))
    const header = bytes.subarray(0, 3)
    const payload = bytes.subarray(7)
    let crc = zlib.crc32(header)
    for (const chunk of [key, frame]) crc = zlib.crc32(chunk, zlib.crc32(le32(chunk.length), crc))
    expect(bytes.readUInt32LE(3)).toBe(zlib.crc32(payload, crc))
  })

  it('GCM additional data: the header, then u32 LE length and bytes of each chunk', () => {
    const codec = createCodec({ serializer: serializers.msgpack, transforms: [aesK1()] })
    const bytes = Buffer.from(codec.encode('secret', bound))
    const headerBytes = inspectEncoded(bytes).headerBytes
    const payload = bytes.subarray(headerBytes)
    const decipher = createDecipheriv('aes-256-gcm', KEY_1, payload.subarray(0, 12), { authTagLength: 16 })
    decipher.setAuthTag(payload.subarray(12, 28))
    decipher.setAAD(
      Buffer.concat([bytes.subarray(0, headerBytes), le32(key.length), key, le32(frame.length), frame]),
    )
    const plaintext = Buffer.concat([decipher.update(payload.subarray(28)), decipher.final()])
    // The plaintext is the msgpack payload itself (no lz4 in this chain).
    expect(plaintext).toEqual(Buffer.from(msgpackCodec().encode('secret').subarray(7)))
  })

  it('an encrypted value copied under another key does not decrypt there', () => {
    const codec = createCodec({ serializer: serializers.msgpack, transforms: [aesK1()] })
    const alice = codec.encode(
      { user: 'alice', admin: true },
      { additionalData: [Buffer.from('session:alice')] },
    )
    expect(codec.decode(alice, { additionalData: [Buffer.from('session:alice')] })).toStrictEqual({
      user: 'alice',
      admin: true,
    })
    const error = decodeFailure(() =>
      codec.decode(alice, { additionalData: [Buffer.from('session:mallory')] }),
    )
    expect(error.message).toMatch(/authentication failed .*other additional data/)
  })

  it('a checksum mismatch with additional data says it may be bound to other data', () => {
    const codec = msgpackCodec()
    const error = decodeFailure(() => codec.decode(codec.encode(1, bound), { additionalData: [key] }))
    expect(error.message).toMatch(/checksum mismatch .*other additional data/)
  })
})

describe('a malformed context', () => {
  const bad: Array<[string, unknown]> = [
    ['null', null],
    ['a string', 'users:42'],
    ['additionalData not an array', { additionalData: key }],
    ['a chunk that is a string', { additionalData: ['users:42'] }],
    ['a chunk that is a number array', { additionalData: [[1, 2]] }],
  ]

  it.each(bad)('%s: encode throws E_CODEC_ENCODE, decode E_CODEC_DECODE', (_label, context) => {
    const codec = msgpackCodec()
    let thrown: unknown
    try {
      codec.encode(1, context as CodecContext)
    } catch (error) {
      thrown = error
    }
    expect(thrown).toBeInstanceOf(CodecEncodeError)
    expect(CacheError.hasCode(thrown, 'E_CODEC_ENCODE')).toBe(true)
    decodeFailure(() => codec.decode(codec.encode(1), context as CodecContext))
  })
})

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

describe('string chunks', () => {
  const chains = allChains()
  const texts: Array<[string, string]> = [
    ['ASCII', 'users:42:profile'],
    ['non-ASCII', 'utilisateur:é:ß'],
    ['astral (surrogate pairs)', 'tenant:🦄:key'],
    ['longer than the JS path takes (64+ chars)', `users:${'x'.repeat(100)}`],
    ['long and non-ASCII', `é${'x'.repeat(100)}`],
    ['ASCII, exactly 64 chars (the last the JS path takes)', 'k'.repeat(64)],
    ['ASCII, 65 chars (the first through zlib)', 'k'.repeat(65)],
    ['ASCII ending in DEL (0x7f, still one byte)', 'key\u007f'],
    ['a lone surrogate (UTF-8 as Buffer.from writes it: EF BF BD)', 'key:\ud800'],
    ['empty', ''],
  ]

  it.each(texts)(
    '%s: a string and its UTF-8 bytes are the same additional data, on every chain',
    (_label, text) => {
      const asBytes: CodecContext = { additionalData: [Buffer.from(text, 'utf8'), frame] }
      const asText: CodecContext = { additionalData: [text, frame] }
      for (const codec of chains) {
        expect(codec.decode(codec.encode(value, asText), asBytes), codec.name).toStrictEqual(value)
        expect(codec.decode(codec.encode(value, asBytes), asText), codec.name).toStrictEqual(value)
      }
    },
  )

  it.each(texts)(
    '%s: unencrypted chains write the same bytes for the string and its UTF-8 bytes',
    (_label, text) => {
      for (const codec of chains.filter((chain) => !inspectEncoded(chain.encode(1)).transforms.length)) {
        const asText = Buffer.from(codec.encode(value, { additionalData: [frame, text] }))
        const asBytes = Buffer.from(
          codec.encode(value, { additionalData: [frame, Buffer.from(text, 'utf8')] }),
        )
        expect(asText.equals(asBytes), codec.name).toBe(true)
      }
    },
  )

  it.each(texts)('%s: another string is other additional data', (_label, text) => {
    for (const codec of chains) {
      const bytes = codec.encode(value, { additionalData: [text, frame] })
      decodeFailure(() => codec.decode(bytes, { additionalData: [`${text}!`, frame] }))
      decodeFailure(() => codec.decode(bytes, { additionalData: [`x${text}`, frame] }))
    }
  })
})

describe('a last chunk stored right before the value', () => {
  // As the cache keeps an entry: its frame, then the codec's bytes, in one buffer. The codec then
  // checksums frame and value in one pass; the answer must not depend on where the bytes sit.
  const chains = allChains()

  function adjoined(codec: ReturnType<typeof msgpackCodec>, chunk: Uint8Array) {
    const encoded = codec.encode(value, { additionalData: ['k', chunk] })
    const stored = Buffer.concat([chunk, encoded])
    return { frameView: stored.subarray(0, chunk.length), valueView: stored.subarray(chunk.length) }
  }

  it('decodes as with separate copies, on every chain', () => {
    for (const codec of chains) {
      const { frameView, valueView } = adjoined(codec, frame)
      expect(codec.decode(valueView, { additionalData: ['k', frameView] }), codec.name).toStrictEqual(value)
      expect(
        codec.decode(Uint8Array.from(valueView), { additionalData: ['k', Uint8Array.from(frameView)] }),
      ).toStrictEqual(value)
    }
  })

  it('every single-bit flip of the adjoining frame is E_CODEC_DECODE', () => {
    for (const codec of chains.filter((chain) => chain.name.startsWith('msgpack'))) {
      const { frameView, valueView } = adjoined(codec, frame)
      for (let bit = 0; bit < frameView.length * 8; bit++) {
        frameView[bit >> 3] = frameView[bit >> 3]! ^ (1 << (bit & 7))
        decodeFailure(() => codec.decode(valueView, { additionalData: ['k', frameView] }))
        frameView[bit >> 3] = frameView[bit >> 3]! ^ (1 << (bit & 7))
      }
      expect(codec.decode(valueView, { additionalData: ['k', frameView] })).toStrictEqual(value)
    }
  })

  it('an empty last chunk at the very start of the value is the same as an empty copy', () => {
    for (const codec of chains) {
      const encoded = Buffer.from(codec.encode(value, { additionalData: ['k', new Uint8Array(0)] }))
      const empty = encoded.subarray(0, 0) // same buffer, ends where the value starts
      expect(codec.decode(encoded, { additionalData: ['k', empty] }), codec.name).toStrictEqual(value)
      decodeFailure(() => codec.decode(encoded, { additionalData: ['k'] }))
    }
  })

  it('an empty last chunk does not drop the chunks before it from the checksum', () => {
    // A zero-length view can have no memory behind it (zlib then restarts the CRC at 0); whatever
    // its backing, the key before it must still bind the value.
    const empties: Array<[string, () => Uint8Array]> = [
      ['new Uint8Array(0)', () => new Uint8Array(0)],
      ['Buffer.alloc(0)', () => Buffer.alloc(0)],
      ['over an empty ArrayBuffer', () => new Uint8Array(new ArrayBuffer(0))],
    ]
    for (const codec of chains) {
      for (const [label, empty] of empties) {
        const bytes = codec.encode(value, { additionalData: ['users:1', empty()] })
        expect(codec.decode(bytes, { additionalData: ['users:1', empty()] }), label).toStrictEqual(value)
        expect(codec.decode(bytes, { additionalData: ['users:1', ''] }), label).toStrictEqual(value)
        decodeFailure(() => codec.decode(bytes, { additionalData: ['users:2', empty()] }))
        decodeFailure(() => codec.decode(bytes, { additionalData: [empty()] }))
      }
    }
  })

  it('a view that adjoins the value but is not the last chunk is read as a separate chunk', () => {
    for (const codec of chains) {
      const encoded = codec.encode(value, { additionalData: [frame, 'k'] })
      const stored = Buffer.concat([frame, encoded])
      const frameView = stored.subarray(0, frame.length)
      const valueView = stored.subarray(frame.length)
      expect(codec.decode(valueView, { additionalData: [frameView, 'k'] }), codec.name).toStrictEqual(value)
      decodeFailure(() => codec.decode(valueView, { additionalData: ['k', frameView] }))
    }
  })

  it('an adjoining view of other bytes, or one byte short, is other additional data', () => {
    const codec = msgpackCodec()
    const { frameView, valueView } = adjoined(codec, frame)
    const stored = Buffer.from(frameView.buffer, frameView.byteOffset, frameView.length + valueView.length)
    const shorter = stored.subarray(1, frame.length)
    decodeFailure(() => codec.decode(valueView, { additionalData: ['k', shorter] }))
    decodeFailure(() => codec.decode(valueView, { additionalData: ['k'] }))
  })
})

describe('the wire format of additional data', () => {
  it('a trailing CRC-32 over the chunk count, each chunk after its u32 LE length, the header and the payload', () => {
    const bytes = Buffer.from(msgpackCodec().encode('hi', bound))
    const headerAndPayload = bytes.subarray(0, -4)
    let crc = zlib.crc32(le32(2))
    for (const chunk of [key, frame]) crc = zlib.crc32(chunk, zlib.crc32(le32(chunk.length), crc))
    expect(bytes.readUInt32LE(bytes.length - 4)).toBe(zlib.crc32(headerAndPayload, crc))
  })

  it('GCM additional data: the header, then u32 LE length and bytes of each chunk', () => {
    const codec = createCodec({ serializer: serializers.msgpack, transforms: [aesK1()] })
    const bytes = Buffer.from(codec.encode('secret', bound))
    const headerBytes = inspectEncoded(bytes).headerBytes
    const payload = bytes.subarray(headerBytes) // no CRC: the GCM tag authenticates an encrypted value
    const decipher = createDecipheriv('aes-256-gcm', KEY_1, payload.subarray(0, 12), { authTagLength: 16 })
    decipher.setAuthTag(payload.subarray(12, 28))
    decipher.setAAD(
      Buffer.concat([bytes.subarray(0, headerBytes), le32(key.length), key, le32(frame.length), frame]),
    )
    const plaintext = Buffer.concat([decipher.update(payload.subarray(28)), decipher.final()])
    // The plaintext is the msgpack payload itself (no lz4 in this chain).
    expect(plaintext).toEqual(Buffer.from(msgpackCodec().encode('secret').subarray(3, -4)))
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
    ['a chunk that is a number', { additionalData: [42] }],
    ['a chunk that is an object', { additionalData: [{ key: 'users:42' }] }],
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

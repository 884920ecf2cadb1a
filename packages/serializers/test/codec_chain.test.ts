import { createCipheriv, randomBytes } from 'node:crypto'
import {
  CacheError,
  CodecDecodeError,
  CodecEncodeError,
  createEntry,
  decodeEntry,
  encodeEntry,
  InvalidOptionError,
  ValueTooLargeError,
} from '@cachekit/core'
import { compressSync } from 'lz4-napi'
import { describe, expect, it, vi } from 'vitest'
import { crc32 } from '../src/checksum.js'
import { STEP } from '../src/header.js'
import {
  aes256gcm,
  createCodec,
  defaultCodec,
  inspectEncoded,
  jsonCodec,
  lz4,
  msgpackCodec,
  type Serializer,
  type Transform,
} from '../src/index.js'
import {
  aesK1,
  allChains,
  bitsOf,
  decodeFailure,
  embedding,
  FORMAT,
  forge,
  KEY_1,
  omnivore,
  serializers,
  transformCombos,
} from './support/fixtures.js'

describe('createCodec', () => {
  it('names the chain', () => {
    expect(createCodec({ serializer: serializers.msgpack, transforms: [lz4(), aesK1()] }).name).toBe(
      'msgpack+lz4+aes256gcm',
    )
    expect(jsonCodec().name).toBe('json')
    expect(msgpackCodec().name).toBe('msgpack')
    expect(defaultCodec().name).toBe('msgpack+lz4')
  })

  it('defaultCodec is msgpack, with lz4 from 1 KiB', () => {
    expect(inspectEncoded(defaultCodec().encode('x'.repeat(2000)))).toMatchObject({
      serializer: 'msgpack',
      transforms: [{ name: 'lz4' }],
    })
    expect(inspectEncoded(defaultCodec().encode('x'.repeat(100))).transforms).toEqual([])
  })

  it.each([
    ['no options', undefined],
    ['no serializer', {}],
    ['a look-alike serializer', { serializer: { name: 'json' } }],
    ['transforms that are not an array', { serializer: serializers.json, transforms: lz4() }],
    ['a look-alike transform', { serializer: serializers.json, transforms: [{ name: 'lz4' }] }],
    ['lz4 twice', { serializer: serializers.json, transforms: [lz4(), lz4()] }],
    ['aes twice', { serializer: serializers.json, transforms: [aesK1(), aesK1()] }],
    ['maxBytes 0', { serializer: serializers.json, maxBytes: 0 }],
    ['maxBytes 1.5', { serializer: serializers.json, maxBytes: 1.5 }],
    ['maxSerializedBytes -1', { serializer: serializers.json, maxSerializedBytes: -1 }],
  ])('rejects %s with InvalidOptionError', (_label, options) => {
    expect(() => createCodec(options as never)).toThrow(InvalidOptionError)
  })

  it('accepts serializers and transforms made by another copy of the package (import and require)', async () => {
    vi.resetModules()
    const other = (await import('../src/index.js')) as typeof import('../src/index.js')
    expect(other.msgpackSerializer()).not.toBe(serializers.msgpack)
    expect(other.lz4).not.toBe(lz4)
    const codec = createCodec({ serializer: other.msgpackSerializer(), transforms: [other.lz4(), aesK1()] })
    expect(codec.decode(codec.encode({ a: 'b'.repeat(3000) }))).toStrictEqual({ a: 'b'.repeat(3000) })
  })

  it('a fake serializer or transform is also a type error', () => {
    // @ts-expect-error only serializers made by this package are accepted
    const fakeSerializer: Serializer = { name: 'json' }
    // @ts-expect-error only transforms made by this package are accepted
    const fakeTransform: Transform = { name: 'lz4' }
    expect(fakeSerializer.name).toBe(fakeTransform.name === 'lz4' ? 'json' : '')
  })
})

describe('cross-chain decoding', () => {
  const value = {
    id: 7,
    name: 'Ada',
    at: new Date(Date.UTC(2024, 0, 2)),
    tags: new Set(['a', 'b']),
    scores: new Map([['x', 1.5]]),
    big: 2n ** 70n,
    blob: 'lorem ipsum '.repeat(200),
  }

  it('a value written by msgpack+lz4+aes decodes with a json codec that has the key and accepts both', () => {
    const writer = createCodec({ serializer: serializers.msgpack, transforms: [lz4(), aesK1()] })
    const reader = createCodec({
      serializer: serializers.json,
      transforms: [aesK1()],
      accept: [serializers.msgpack, lz4()],
    })
    expect(reader.decode(writer.encode(value))).toStrictEqual(value)
  })

  it('a value written by json decodes with a msgpack codec that accepts json', () => {
    expect(msgpackCodec({ accept: [serializers.json] }).decode(jsonCodec().encode(value))).toStrictEqual(
      value,
    )
  })

  it('every chain reads what every chain writes, given the key and the formats in accept', () => {
    const lenient = aes256gcm({ keys: { k1: KEY_1 }, currentKeyId: 'k1', allowUnencrypted: true })
    const everything = [...Object.values(serializers), lz4()]
    const readers = Object.values(serializers).flatMap((serializer) => [
      createCodec({ serializer, accept: everything }),
      createCodec({ serializer, transforms: [lenient], accept: everything }),
    ])
    for (const writer of allChains()) {
      const bytes = writer.encode(value)
      const encrypted = writer.name.endsWith('aes256gcm')
      for (const reader of readers) {
        if (encrypted && !reader.name.endsWith('aes256gcm')) {
          expect(decodeFailure(() => reader.decode(bytes)).message).toMatch(/key id "k1"/)
        } else {
          expect(reader.decode(bytes), `${writer.name} -> ${reader.name}`).toStrictEqual(value)
        }
      }
    }
  })

  it('a codec that encrypts refuses what an unencrypted chain wrote', () => {
    const strict = createCodec({ serializer: serializers.msgpack, transforms: [aesK1()] })
    decodeFailure(() => strict.decode(defaultCodec().encode(value)))
  })

  it('sits inside a core entry frame', () => {
    const codec = defaultCodec()
    const entry = createEntry(value, { now: 1_000, ttlMs: 5_000, tags: ['users'] })
    const decoded = decodeEntry(encodeEntry(entry, codec, 'k'), codec, 'k')
    expect(decoded).toStrictEqual(entry)
  })
})

describe('a 1,536-float embedding', () => {
  const floats = embedding()

  it.each(
    Object.entries(serializers).flatMap(([name, serializer]) =>
      transformCombos().map(
        ({ label, transforms }) => [`${name} + ${label}`, serializer, transforms] as const,
      ),
    ),
  )('round-trips bit-exact through %s', (_label, serializer, transforms) => {
    const codec = createCodec({ serializer, transforms })
    const decoded = codec.decode(codec.encode({ vector: floats }))
    const vector = (decoded as { vector: Float32Array }).vector
    expect(vector).toBeInstanceOf(Float32Array)
    expect(bitsOf(vector)).toEqual(bitsOf(floats))
  })
})

describe('maxBytes', () => {
  it('refuses an encoded value above the limit with ValueTooLargeError (size and limit)', () => {
    const codec = msgpackCodec({ maxBytes: 100 })
    let thrown: unknown
    try {
      codec.encode('x'.repeat(200))
    } catch (error) {
      thrown = error
    }
    expect(thrown).toBeInstanceOf(ValueTooLargeError)
    expect(CacheError.hasCode(thrown, 'E_VALUE_TOO_LARGE')).toBe(true)
    const error = thrown as ValueTooLargeError
    expect(error.size).toBe(3 + 4 + 2 + 200) // header, CRC, str8 header, characters
    expect(error.limit).toBe(100)
    expect(error.message).toMatch(/209 bytes, above maxBytes 100/)
  })

  it('accepts a value of exactly the limit', () => {
    const size = msgpackCodec().encode('x'.repeat(50)).length
    expect(
      msgpackCodec({ maxBytes: size }).decode(msgpackCodec({ maxBytes: size }).encode('x'.repeat(50))),
    ).toBe('x'.repeat(50))
    expect(() => msgpackCodec({ maxBytes: size - 1 }).encode('x'.repeat(50))).toThrow(ValueTooLargeError)
  })

  it('counts the bytes after compression and encryption', () => {
    const codec = createCodec({
      serializer: serializers.msgpack,
      transforms: [lz4(), aesK1()],
      maxBytes: 200,
    })
    expect(codec.decode(codec.encode('y'.repeat(10_000)))).toBe('y'.repeat(10_000))
    expect(() => defaultCodec({ maxBytes: 200 }).encode(Buffer.alloc(300, 1).toString('base64'))).toThrow(
      ValueTooLargeError,
    )
  })
})

describe('errors', () => {
  it('encoding failures are CodecEncodeError with the serializer error as cause', () => {
    for (const codec of allChains()) {
      let thrown: unknown
      try {
        codec.encode({ s: Symbol('nope'), f: () => 1 })
        // json drops symbols and functions (as JSON does); v8 and msgpack refuse them
        if (codec.name.startsWith('json')) continue
      } catch (error) {
        thrown = error
      }
      expect(thrown, codec.name).toBeInstanceOf(CodecEncodeError)
      expect((thrown as Error).message).toMatch(/^\[cachekit\/serializers\] cannot encode/)
      expect((thrown as Error).cause).toBeDefined()
    }
  })

  it('decoder errors of msgpackr, JSON and v8 are wrapped with their cause', () => {
    const cases = [
      forge(FORMAT.msgpack, [], Uint8Array.from([0x92, 0x01])), // array of 2, one element
      forge(FORMAT.msgpack, [], Uint8Array.from([0x01, 0x02])), // trailing bytes
      forge(FORMAT.msgpackTagged, [], Uint8Array.from([0x93, 0xc1, 0x07, 0x01])), // unknown C1 tag
      forge(FORMAT.json, [], Buffer.from('{"a":')),
      forge(FORMAT.jsonTagged, [], Buffer.from('{"$t":"nope"}')),
      forge(FORMAT.jsonTagged, [], Buffer.from('{"$t":"f32","v":"AAA="}')), // 2 bytes: not whole floats
      forge(FORMAT.jsonTagged, [], Buffer.from('{"$t":"I","v":"1.5"}')),
      forge(FORMAT.v8, [], Uint8Array.from([0xff, 0x0f, 0x6f])),
    ]
    for (const bytes of cases) {
      const error = decodeFailure(() => omnivore().decode(bytes))
      expect(error.message).toMatch(/payload is invalid/)
      expect(error.cause).toBeInstanceOf(Error)
    }
  })

  it('pathologically deep payloads: CodecDecodeError, not a stack overflow RangeError', () => {
    const depth = 200_000
    const msgpack = Buffer.concat([Buffer.alloc(depth, 0x91), Uint8Array.from([0x00])]) // [[[...[0]...]]]
    const json = Buffer.from(`${'['.repeat(depth)}0${']'.repeat(depth)}`)
    for (const bytes of [
      forge(FORMAT.msgpack, [], msgpack),
      forge(FORMAT.msgpackTagged, [], msgpack),
      forge(FORMAT.jsonTagged, [], json),
    ]) {
      try {
        omnivore().decode(bytes)
      } catch (error) {
        expect(error).toBeInstanceOf(CodecDecodeError)
      }
    }
    let deep: unknown = 0
    for (let i = 0; i < depth; i++) deep = [deep]
    for (const codec of [jsonCodec(), msgpackCodec(), defaultCodec()]) {
      expect(() => codec.encode(deep)).toThrow(CodecEncodeError)
    }
  })

  it('decoding anything that is not a Uint8Array is E_CODEC_DECODE', () => {
    for (const input of ['text', null, undefined, 42, [0xc1]]) {
      expect(() => defaultCodec().decode(input as never)).toThrow(CodecDecodeError)
    }
  })

  it('undoes steps in reverse header order, whatever the order (aes then lz4, never written here)', () => {
    const header = Uint8Array.from([0xc1, 0x21, 0x02, STEP.aes256gcm, 0x02, 0x6b, 0x31, STEP.lz4])
    const iv = randomBytes(12)
    const cipher = createCipheriv('aes-256-gcm', KEY_1, iv)
    cipher.setAAD(header)
    const ciphertext = Buffer.concat([cipher.update('"ok"'), cipher.final()])
    const block = compressSync(Buffer.concat([iv, cipher.getAuthTag(), ciphertext]))
    // The trailing CRC: over the chunk count (0), the header and the payload.
    const crc = Buffer.alloc(4)
    crc.writeUInt32LE(crc32(block, crc32(header, crc32(Buffer.alloc(4)))))
    const bytes = Buffer.concat([header, block, crc])
    const reader = createCodec({ serializer: serializers.json, transforms: [aesK1()], accept: [lz4()] })
    expect(reader.decode(bytes)).toBe('ok')
    const tampered = Buffer.from(bytes)
    tampered[1] = 0x25 // claims v8; the CRC catches it before the AAD would
    decodeFailure(() => reader.decode(tampered))
  })
})

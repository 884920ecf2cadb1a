import * as v8 from 'node:v8'
import { InvalidOptionError } from '@cachekit/core'
import { describe, expect, it } from 'vitest'
import { lz4Step } from '../src/header.js'
import { aes256gcm, createCodec, defaultCodec, jsonCodec, lz4, msgpackCodec } from '../src/index.js'
import { aesK1, decodeFailure, FORMAT, forge, KEY_1, KEY_2, serializers } from './support/fixtures.js'

const value = { id: 7, at: new Date(0), tags: new Map([['a', 1]]), text: 'lorem ipsum '.repeat(200) }

describe('a codec decodes only the formats it writes', () => {
  const writers = {
    json: jsonCodec(),
    msgpack: msgpackCodec(),
    v8: createCodec({ serializer: serializers.v8 }),
  }

  it.each(Object.keys(writers))('%s reads its own plain and tagged formats', (name) => {
    const codec = writers[name as keyof typeof writers]
    expect(codec.decode(codec.encode({ plain: [1, 'a'] }))).toStrictEqual({ plain: [1, 'a'] })
    expect(codec.decode(codec.encode(value))).toStrictEqual(value)
  })

  const factories = { json: 'jsonSerializer()', msgpack: 'msgpackSerializer()', v8: 'v8Serializer()' }
  for (const [writerName, writer] of Object.entries(writers)) {
    for (const [readerName, reader] of Object.entries(writers)) {
      if (writerName === readerName) continue
      it(`${readerName} refuses ${writerName}, naming the format and the option that allows it`, () => {
        for (const bytes of [writer.encode({ plain: 1 }), writer.encode(value)]) {
          const error = decodeFailure(() => reader.decode(bytes))
          expect(error.message).toContain(`the value is ${writerName}, which ${readerName} does not read`)
          expect(error.message).toContain(`list ${factories[writerName as keyof typeof factories]}`)
          expect(error.message).toContain('`accept`')
        }
      })
    }
  }

  it('a v8 value planted in a msgpack cache never reaches node:v8', () => {
    const planted = forge(FORMAT.v8, [], v8.serialize({ planted: true }))
    // Bytes node:v8 would choke on: had they reached it, the error would say "v8 payload is invalid".
    const garbage = forge(FORMAT.v8, [], Uint8Array.from([0xff, 0x0f, 0x6f]))
    for (const reader of [defaultCodec(), msgpackCodec(), jsonCodec()]) {
      for (const bytes of [planted, garbage]) {
        expect(decodeFailure(() => reader.decode(bytes)).message).toMatch(
          /the value is v8, which .* does not read/,
        )
      }
    }
    // A codec that chose v8 reads the planted value and does run node:v8 on the garbage.
    const v8Codec = createCodec({ serializer: serializers.v8 })
    expect(v8Codec.decode(planted)).toStrictEqual({ planted: true })
    expect(decodeFailure(() => v8Codec.decode(garbage)).message).toMatch(/v8 payload is invalid/)
  })
})

describe('accept: formats read while migrating, never written', () => {
  it('a msgpack codec that accepts json reads both and writes msgpack', () => {
    const migrating = msgpackCodec({ accept: [serializers.json] })
    expect(migrating.decode(jsonCodec().encode(value))).toStrictEqual(value)
    expect(migrating.decode(msgpackCodec().encode(value))).toStrictEqual(value)
    expect(migrating.name).toBe('msgpack')
    expect(msgpackCodec().decode(migrating.encode(value))).toStrictEqual(value)
    // v8 is still refused: only what is listed is added.
    decodeFailure(() => migrating.decode(createCodec({ serializer: serializers.v8 }).encode(1)))
  })

  it('several serializers, and the codec own serializer listed again, are fine', () => {
    const reader = jsonCodec({ accept: [serializers.msgpack, serializers.v8, serializers.json] })
    for (const serializer of Object.values(serializers)) {
      expect(reader.decode(createCodec({ serializer }).encode(value))).toStrictEqual(value)
    }
  })

  it.each([
    ['not an array', serializers.json],
    ['a look-alike serializer', [{ name: 'json' }]],
    ['a string', ['json']],
    ['a second keyring besides the one in transforms', [aesK1()]],
  ])('refuses %s with InvalidOptionError', (_label, accept) => {
    expect(() =>
      createCodec({ serializer: serializers.msgpack, transforms: [aesK1()], accept: accept as never }),
    ).toThrow(InvalidOptionError)
  })

  it('the keyring of transforms may be listed again', () => {
    const keyring = aesK1()
    const codec = createCodec({ serializer: serializers.msgpack, transforms: [keyring], accept: [keyring] })
    expect(codec.decode(codec.encode(value))).toStrictEqual(value)
  })
})

describe('lz4: decompressed only by a codec that has it or accepts it', () => {
  const compressed = defaultCodec().encode(value)

  it('the default codec writes lz4 for this value, and reads it', () => {
    expect(defaultCodec().decode(compressed)).toStrictEqual(value)
  })

  it('a codec without lz4 refuses an lz4 value, naming lz4 and both options', () => {
    const error = decodeFailure(() => msgpackCodec().decode(compressed))
    expect(error.message).toContain('the value is lz4-compressed, which msgpack does not decompress')
    expect(error.message).toMatch(/add lz4\(\) to the codec's `transforms` or `accept`/)
  })

  it('accept: [lz4()] reads lz4 values and writes uncompressed ones', () => {
    const migrating = msgpackCodec({ accept: [lz4()] })
    expect(migrating.decode(compressed)).toStrictEqual(value)
    const written = migrating.encode(value)
    expect(msgpackCodec().decode(written)).toStrictEqual(value)
  })

  it('a hand-built lz4 block behind a valid CRC is refused before lz4-napi sees it', () => {
    // The block is garbage: a codec that decompressed it would report "lz4 block is corrupt".
    const forged = forge(FORMAT.msgpack, [lz4Step()], Uint8Array.from([10, 0, 0, 0, 0xf0, 1]))
    expect(decodeFailure(() => msgpackCodec().decode(forged)).message).toMatch(/does not decompress/)
    expect(decodeFailure(() => defaultCodec().decode(forged)).message).toMatch(/lz4 block is corrupt/)
  })
})

describe('aes256gcm in accept: reading encrypted values while moving off encryption', () => {
  const encrypted = createCodec({ serializer: serializers.msgpack, transforms: [lz4(), aesK1()] })
  const sealed = encrypted.encode(value)

  it('a codec without a keyring refuses, naming the key id and the options', () => {
    const error = decodeFailure(() => defaultCodec().decode(sealed))
    expect(error.message).toMatch(/key id "k1", and msgpack\+lz4 has no aes256gcm keyring/)
    expect(error.message).toMatch(/`transforms` or `accept`/)
  })

  it('with the keyring in accept it reads encrypted and plain values, and writes plain ones', () => {
    const migrating = defaultCodec({
      accept: [aes256gcm({ keys: { k1: KEY_1, k2: KEY_2 }, currentKeyId: 'k2' })],
    })
    expect(migrating.decode(sealed)).toStrictEqual(value)
    expect(migrating.decode(defaultCodec().encode(value))).toStrictEqual(value)
    expect(defaultCodec().decode(migrating.encode(value))).toStrictEqual(value)
  })

  it('a codec that writes encrypted values still refuses plain ones unless allowUnencrypted', () => {
    decodeFailure(() => encrypted.decode(defaultCodec().encode(value)))
    const lenient = createCodec({
      serializer: serializers.msgpack,
      transforms: [lz4(), aes256gcm({ keys: { k1: KEY_1 }, currentKeyId: 'k1', allowUnencrypted: true })],
    })
    expect(lenient.decode(defaultCodec().encode(value))).toStrictEqual(value)
  })
})

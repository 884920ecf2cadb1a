import { CacheError, InvalidOptionError } from '@cachekit/core'
import { describe, expect, it } from 'vitest'
import { aes256gcm, createCodec, inspectEncoded, lz4, msgpackCodec } from '../src/index.js'
import { aesK1, decodeFailure, KEY_1, KEY_2, serializers } from './support/fixtures.js'

const codecWith = (
  keys: Record<string, Uint8Array | string>,
  currentKeyId: string,
  allowUnencrypted = false,
) =>
  createCodec({
    serializer: serializers.msgpack,
    transforms: [aes256gcm({ keys, currentKeyId, allowUnencrypted })],
  })

describe('aes256gcm key material', () => {
  const value = { secret: 'value' }
  const written = codecWith({ k: KEY_1 }, 'k').encode(value)

  it.each([
    ['a Uint8Array', new Uint8Array(KEY_1)],
    ['hex', KEY_1.toString('hex')],
    ['upper-case hex', KEY_1.toString('hex').toUpperCase()],
    ['base64', KEY_1.toString('base64')],
    ['base64 without padding', KEY_1.toString('base64').replace(/=+$/, '')],
    ['base64url', KEY_1.toString('base64url')],
  ])('accepts %s and it is the same key', (_label, material) => {
    expect(codecWith({ k: material }, 'k').decode(written)).toStrictEqual(value)
  })

  it.each([
    ['31 bytes', new Uint8Array(31).fill(1)],
    ['33 bytes', new Uint8Array(33).fill(1)],
    ['62 hex digits', 'ab'.repeat(31)],
    ['base64 of 16 bytes', Buffer.alloc(16, 1).toString('base64')],
    ['a passphrase', 'correct horse battery staple'],
    ['all zeros', new Uint8Array(32)],
    ['a number', 42],
    ['null', null],
  ])('rejects %s with InvalidOptionError, naming the key id and not the material', (_label, material) => {
    let thrown: unknown
    try {
      aes256gcm({ keys: { 'key-7': material as string }, currentKeyId: 'key-7' })
    } catch (error) {
      thrown = error
    }
    expect(thrown).toBeInstanceOf(InvalidOptionError)
    expect(CacheError.hasCode(thrown, 'E_INVALID_OPTION')).toBe(true)
    expect((thrown as Error).message).toContain('"key-7"')
    if (typeof material === 'string') expect((thrown as Error).message).not.toContain(material)
  })

  it('rejects an empty keyring, an unlisted current key and bad key ids', () => {
    expect(() => aes256gcm({ keys: {}, currentKeyId: 'k' })).toThrow(InvalidOptionError)
    expect(() => aes256gcm({ keys: { k1: KEY_1 }, currentKeyId: 'k2' })).toThrow(/currentKeyId "k2"/)
    expect(() => aes256gcm({ keys: { '': KEY_1 }, currentKeyId: '' })).toThrow(InvalidOptionError)
    expect(() => aes256gcm({ keys: { ['x'.repeat(256)]: KEY_1 }, currentKeyId: 'x'.repeat(256) })).toThrow(
      InvalidOptionError,
    )
    expect(() => aes256gcm(undefined as never)).toThrow(InvalidOptionError)
  })
})

describe('aes256gcm encryption', () => {
  const codec = codecWith({ k1: KEY_1 }, 'k1')

  it('adds the key id, a 12-byte IV and a 16-byte tag, and hides the plaintext', () => {
    const plaintext = 'attack at dawn, attack at dawn'
    const bytes = Buffer.from(codec.encode(plaintext))
    const plain = msgpackCodec().encode(plaintext)
    // plain: 3 + 4 (CRC) + payload; encrypted: 3 + 4 (aes step "k1") + 12 + 16 + payload
    expect(bytes.length).toBe(plain.length - 4 + 4 + 12 + 16)
    expect(bytes.includes('attack')).toBe(false)
    expect(codec.decode(bytes)).toBe(plaintext)
  })

  it('uses a fresh IV for every value', () => {
    const ivs = new Set<string>()
    for (let i = 0; i < 2000; i++) ivs.add(Buffer.from(codec.encode('same')).subarray(7, 19).toString('hex'))
    expect(ivs.size).toBe(2000)
  })

  it('encrypts after lz4, so the value is compressed first', () => {
    const chain = createCodec({ serializer: serializers.msgpack, transforms: [lz4(), aesK1()] })
    const bytes = chain.encode('z'.repeat(5000))
    expect(inspectEncoded(bytes).transforms).toEqual([{ name: 'lz4' }, { name: 'aes256gcm', keyId: 'k1' }])
    expect(bytes.length).toBeLessThan(200)
    expect(chain.decode(bytes)).toBe('z'.repeat(5000))
  })
})

describe('aes256gcm key rotation', () => {
  const before = codecWith({ k1: KEY_1 }, 'k1')
  const during = codecWith({ k1: KEY_1, k2: KEY_2 }, 'k2')
  const after = codecWith({ k2: KEY_2 }, 'k2')
  const oldValue = before.encode({ v: 'old' })

  it('new writes use the current key id', () => {
    expect(inspectEncoded(during.encode(1)).transforms).toEqual([{ name: 'aes256gcm', keyId: 'k2' }])
  })

  it('old values decode while their key is listed', () => {
    expect(during.decode(oldValue)).toStrictEqual({ v: 'old' })
  })

  it('rolls out in two deploys: list the new key everywhere first, then make it current', () => {
    const listed = codecWith({ k1: KEY_1, k2: KEY_2 }, 'k1') // deploy 1: k2 known, not used yet
    expect(listed.decode(during.encode('new'))).toBe('new') // deploy 2 writes k2; deploy-1 instances read it
    decodeFailure(() => before.decode(during.encode('new'))) // an instance that skipped deploy 1 cannot
  })

  it('a value encrypted with an unknown key id is E_CODEC_DECODE naming that id', () => {
    expect(decodeFailure(() => after.decode(oldValue)).message).toMatch(
      /key id "k1", which is not in the keyring/,
    )
  })

  it('a codec without a keyring names the key id it would need', () => {
    expect(decodeFailure(() => msgpackCodec().decode(oldValue)).message).toMatch(
      /key id "k1".*no aes256gcm keyring/,
    )
  })
})

describe('aes256gcm integrity', () => {
  const codec = codecWith({ k1: KEY_1, k2: KEY_2 }, 'k1')
  const bytes = Buffer.from(codec.encode({ amount: 100 }))

  it.each([
    ['the IV', 8],
    ['the tag', 22],
    ['the ciphertext', bytes.length - 1],
  ])('a flipped bit in %s fails authentication', (_label, index) => {
    const tampered = Buffer.from(bytes)
    tampered[index] = tampered[index]! ^ 0x01
    const error = decodeFailure(() => codec.decode(tampered))
    expect(error.message).toMatch(/authentication failed/)
    expect(error.cause).toBeInstanceOf(Error)
  })

  it('the header is authenticated: changing its format byte fails', () => {
    const tampered = Buffer.from(bytes)
    tampered[1] = 0x24 // msgpack -> msgpack+tags: would change how the payload is read
    expect(decodeFailure(() => codec.decode(tampered)).message).toMatch(/authentication failed/)
  })

  it('the header is authenticated: pointing it at another listed key fails', () => {
    const tampered = Buffer.from(bytes)
    tampered[6] = 0x32 // "k1" -> "k2"
    expect(decodeFailure(() => codec.decode(tampered)).message).toMatch(
      /authentication failed with key id "k2"/,
    )
  })

  it('a truncated value fails', () => {
    for (const length of [bytes.length - 1, 30, 20, 8])
      decodeFailure(() => codec.decode(bytes.subarray(0, length)))
  })
})

describe('aes256gcm and unencrypted values', () => {
  const plain = msgpackCodec().encode({ planted: true })

  it('a codec that encrypts refuses plaintext values by default', () => {
    expect(decodeFailure(() => codecWith({ k1: KEY_1 }, 'k1').decode(plain)).message).toMatch(
      /only accepts encrypted values/,
    )
  })

  it('accepts them with allowUnencrypted (for migrating a cache)', () => {
    expect(codecWith({ k1: KEY_1 }, 'k1', true).decode(plain)).toStrictEqual({ planted: true })
  })

  it('must be the last transform', () => {
    expect(() => createCodec({ serializer: serializers.msgpack, transforms: [aesK1(), lz4()] })).toThrow(
      /aes256gcm must be the last transform/,
    )
  })
})

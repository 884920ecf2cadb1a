import { afterEach, describe, expect, it } from 'vitest'
import {
  type CacheEntry,
  type CacheEventMap,
  CodecDecodeError,
  createCache,
  createEntry,
  decodeEntry,
  encodeEntry,
} from '../src/index.js'
import { jsonTestCodec } from './support/json_codec.js'
import { MapStore } from './support/map_store.js'
import { MapTagIndex } from './support/map_tag_index.js'

const codec = jsonTestCodec()

describe('an entry is bound to its frame and its key', () => {
  const entry = createEntry(
    { id: 7 },
    { now: 1_000, ttlMs: 60_000, graceMs: 5_000, tags: ['products', 'p:7'] },
  )
  const bytes = encodeEntry(entry, codec, 'app::p:7')
  const frameLength = 28 + 2 + 'products'.length + 2 + 'p:7'.length

  it('decodes under the key it was written for', () => {
    expect(decodeEntry(bytes, codec, 'app::p:7')).toEqual(entry)
  })

  it('does not decode under another key', () => {
    expect(() => decodeEntry(bytes, codec, 'app::p:8')).toThrow(CodecDecodeError)
    expect(() => decodeEntry(bytes, codec, 'other::p:7')).toThrow(CodecDecodeError)
  })

  it('rejects every single-bit flip of the frame: no longer life, no other tags', () => {
    for (let bit = 0; bit < frameLength * 8; bit++) {
      const flipped = Uint8Array.from(bytes)
      flipped[bit >> 3]! ^= 1 << (bit & 7)
      expect(() => decodeEntry(flipped, codec, 'app::p:7'), `bit ${bit}`).toThrow(CodecDecodeError)
    }
  })

  it('reads frames of version 1 (unbound) as E_CODEC_DECODE', () => {
    const old = Uint8Array.from(bytes)
    old[1] = 1
    expect(() => decodeEntry(old, codec, 'app::p:7')).toThrow(/frame version 1/)
  })
})

describe('a cache reading tampered entries', () => {
  const opened: Array<{ close(): Promise<void> }> = []
  afterEach(async () => {
    await Promise.all(opened.splice(0).map((cache) => cache.close()))
  })

  function setup() {
    const l2 = new MapStore<Uint8Array>({ name: 'l2', kind: 'remote' })
    const cache = createCache({ prefix: 'app', l2, codec, tagIndex: new MapTagIndex() })
    opened.push(cache)
    const errors: Array<CacheEventMap['error']> = []
    cache.on('error', (event) => errors.push(event))
    return { cache, l2, errors }
  }

  it("misses, with E_CODEC_DECODE, on a value copied under another user's key", async () => {
    const { cache, l2, errors } = setup()
    await cache.set('user:1:profile', { name: 'mallory' })
    await cache.set('user:2:profile', { name: 'alice' })
    l2.poke('app::user:2:profile', (await l2.get('app::user:1:profile'))!)
    expect(await cache.get('user:2:profile')).toBeUndefined()
    expect(await cache.has('user:2:profile')).toBe(false)
    expect(errors.map((event) => event.error.code)).toEqual(['E_CODEC_DECODE', 'E_CODEC_DECODE'])
    expect(await cache.get('user:1:profile')).toEqual({ name: 'mallory' })
  })

  it('misses on an entry whose expiry was pushed out or whose tags were swapped', async () => {
    const { cache, l2, errors } = setup()
    await cache.set('p:1', 'v', { ttl: 1_000, tags: ['catalog'] })
    const original = (await l2.get('app::p:1'))!
    const longer = Buffer.from(original)
    longer.writeDoubleLE(Number.POSITIVE_INFINITY, 10) // expiresAt
    longer.writeDoubleLE(Number.POSITIVE_INFINITY, 18) // hardExpiresAt
    l2.poke('app::p:1', longer)
    expect(await cache.get('p:1')).toBeUndefined()
    const retagged = Buffer.from(original)
    retagged.write('x', 28 + 2 + 'app::'.length, 'utf8') // `catalog` becomes `xatalog`
    l2.poke('app::p:1', retagged)
    expect(await cache.get('p:1')).toBeUndefined()
    expect(errors).toHaveLength(2)
    expect(errors.every((event) => event.error instanceof CodecDecodeError)).toBe(true)
  })

  it('has() agrees with get() for an entry whose body does not decode', async () => {
    const { cache, l2 } = setup()
    await cache.set('k', { n: 1 })
    const bytes = Buffer.from((await l2.get('app::k'))!)
    bytes[bytes.length - 1]! ^= 0xff
    l2.poke('app::k', bytes)
    expect(await cache.has('k')).toBe(false)
    expect(await cache.get('k')).toBeUndefined()
  })
})

describe('has() and get() with an L1', () => {
  it('agree after the L2 copy goes bad and L1 is cold', async () => {
    const l1 = new MapStore<CacheEntry>({ name: 'l1' })
    const l2 = new MapStore<Uint8Array>({ name: 'l2', kind: 'remote' })
    const cache = createCache({ prefix: 'app', l1, l2, codec })
    await cache.set('k', 1)
    expect(await cache.has('k')).toBe(true)
    await l1.clear()
    l2.poke('app::k', new Uint8Array([0xce, 2, 1, 2, 3]))
    expect(await cache.has('k')).toBe(false)
    expect(await cache.get('k')).toBeUndefined()
    expect(cache.stats().hits).toBe(0) // has() counts neither hits nor misses
    expect(cache.stats().misses).toBe(1)
    await cache.close()
  })
})

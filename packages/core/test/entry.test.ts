import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import {
  type CacheEntry,
  type Codec,
  CodecDecodeError,
  createEntry,
  decodeEntry,
  decodeEntryHeader,
  encodeEntry,
  isFresh,
  isHardExpired,
  storeTtlMs,
} from '../src/index.js'

/** A codec for these tests only: UTF-8 JSON, with no header of its own. */
const jsonText: Codec = {
  name: 'test-json',
  encode: (value) => new TextEncoder().encode(JSON.stringify(value)),
  decode: (bytes) => JSON.parse(new TextDecoder().decode(bytes)),
}

describe('createEntry', () => {
  it('derives logical and hard expiry from ttl and grace', () => {
    const entry = createEntry({ id: 1 }, { now: 1_000, ttlMs: 500, graceMs: 2_000, tags: ['users'] })
    expect(entry).toEqual({
      value: { id: 1 },
      createdAt: 1_000,
      expiresAt: 1_500,
      hardExpiresAt: 3_500,
      tags: ['users'],
    })
    expect(isFresh(entry, 1_499)).toBe(true)
    expect(isFresh(entry, 1_500)).toBe(false)
    expect(isHardExpired(entry, 3_499)).toBe(false)
    expect(isHardExpired(entry, 3_500)).toBe(true)
    expect(storeTtlMs(entry, 1_000)).toBe(2_500)
    expect(storeTtlMs(entry, 3_600)).toBe(1)
  })

  it('never expires without a ttl', () => {
    const entry = createEntry('v', { now: 0 })
    expect(entry.expiresAt).toBe(Number.POSITIVE_INFINITY)
    expect(storeTtlMs(entry)).toBeUndefined()
    expect(isHardExpired(entry, Number.MAX_SAFE_INTEGER)).toBe(false)
  })
})

describe('entry frame', () => {
  const arbitraryEntry = fc.record({
    value: fc.jsonValue(),
    createdAt: fc.integer({ min: 0, max: 2 ** 45 }),
    ttl: fc.option(fc.integer({ min: 1, max: 2 ** 40 }), { nil: undefined }),
    grace: fc.integer({ min: 0, max: 2 ** 30 }),
    tags: fc.array(fc.string({ unit: 'binary', maxLength: 40 }), { maxLength: 8 }),
  })

  it('round-trips timing, tags and value', () => {
    fc.assert(
      fc.property(arbitraryEntry, ({ value, createdAt, ttl, grace, tags }) => {
        const entry = createEntry(value, { now: createdAt, ttlMs: ttl, graceMs: grace, tags })
        const bytes = encodeEntry(entry, jsonText, 'k')
        const decoded = decodeEntry(bytes, jsonText, 'k')
        expect(decoded).toEqual({ ...entry, value: JSON.parse(JSON.stringify(value)) })
        const { value: _value, ...header } = entry
        expect(decodeEntryHeader(bytes)).toEqual({ ...header, tags: [...header.tags] })
      }),
    )
  })

  it('rejects truncated frames and foreign bytes with E_CODEC_DECODE', () => {
    const entry: CacheEntry = createEntry({ a: 1 }, { now: 5, ttlMs: 10, tags: ['t1', 'tag-two'] })
    const bytes = encodeEntry(entry, jsonText, 'k')
    for (let length = 0; length < 28 + 2 + 2 + 2 + 7; length++) {
      expect(() => decodeEntryHeader(bytes.subarray(0, length))).toThrow(CodecDecodeError)
    }
    expect(() => decodeEntry(new TextEncoder().encode('{"plain":"json"}'), jsonText, 'k')).toThrow(
      CodecDecodeError,
    )
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (garbage) => {
        try {
          decodeEntry(garbage, jsonText, 'k')
        } catch (error) {
          expect(error).toBeInstanceOf(CodecDecodeError)
        }
      }),
    )
  })

  it('wraps a value that does not decode into E_CODEC_DECODE', () => {
    const bytes = encodeEntry(createEntry('x', { now: 1 }), jsonText, 'k')
    const corrupted = Uint8Array.from(bytes)
    corrupted[corrupted.length - 1] = 0x7b // the value's closing quote becomes '{'
    expect(() => decodeEntry(corrupted, jsonText, 'k')).toThrow(CodecDecodeError)
  })
})

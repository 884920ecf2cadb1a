import { randomBytes } from 'node:crypto'
import { CacheError, type Codec, ValueTooLargeError } from '@cachekit/core'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { lz4Step } from '../src/header.js'
import { createCodec, defaultCodec, jsonCodec, lz4, msgpackCodec } from '../src/index.js'
import { MAX_DEPTH } from '../src/nesting_depth.js'
import { aesK1, decodeFailure, FORMAT, forge, serializers, transformCombos } from './support/fixtures.js'

function tooLarge(fn: () => unknown): ValueTooLargeError {
  let thrown: unknown
  try {
    fn()
  } catch (error) {
    thrown = error
  }
  expect(thrown, 'expected a ValueTooLargeError').toBeInstanceOf(ValueTooLargeError)
  expect(CacheError.hasCode(thrown, 'E_VALUE_TOO_LARGE')).toBe(true)
  return thrown as ValueTooLargeError
}

const LIMIT = 64 * 1024

describe('maxSerializedBytes: encode refuses what decode would refuse', () => {
  it('a compressible value above the limit is refused at encode, though lz4 would shrink it', () => {
    // Before: this encoded to ~300 bytes, and every decode then refused it (the lz4 size prefix was
    // above the limit), so a cache reran its factory on every read.
    const codec = defaultCodec({ maxSerializedBytes: LIMIT })
    const error = tooLarge(() => codec.encode('x'.repeat(LIMIT)))
    expect(error.size).toBe(LIMIT + 5) // msgpack writes 65,536 characters as a str32: 5 bytes of header
    expect(error.limit).toBe(LIMIT)
    expect(error.message).toMatch(
      /^\[cachekit\/serializers\] msgpack\+lz4 serialized the value to \d+ bytes, above maxSerializedBytes 65536/,
    )
  })

  it.each(
    Object.entries(serializers).flatMap(([name, serializer]) =>
      transformCombos().map(
        ({ label, transforms }) => [`${name} + ${label}`, serializer, transforms] as const,
      ),
    ),
  )(
    '%s: a value encodes if and only if it decodes, on both sides of the limit',
    (_label, serializer, transforms) => {
      const codec = createCodec({ serializer, transforms, maxSerializedBytes: LIMIT })
      const noise = randomBytes(LIMIT).toString('base64')
      fc.assert(
        // Strings serialize to their length plus a few bytes in every serializer, so the lengths
        // straddle the limit; compressible ones shrink under lz4 and must be refused all the same.
        fc.property(fc.integer({ min: LIMIT - 12, max: LIMIT + 4 }), fc.boolean(), (length, compressible) => {
          const value = compressible ? 'a'.repeat(length) : noise.slice(0, length)
          let bytes: Uint8Array
          try {
            bytes = codec.encode(value)
          } catch (error) {
            expect(error).toBeInstanceOf(ValueTooLargeError)
            expect((error as ValueTooLargeError).size).toBeGreaterThan(LIMIT)
            return
          }
          expect(codec.decode(bytes)).toBe(value)
        }),
        { numRuns: 60 },
      )
    },
  )

  it('the limit counts the serialized bytes: exactly the limit passes, one more does not', () => {
    const codec = defaultCodec({ maxSerializedBytes: 100_000 })
    // msgpack bin32: 5 bytes of header, then the bytes.
    const fits = Buffer.alloc(99_995, 1)
    expect(Buffer.from(codec.decode(codec.encode(fits)) as Buffer).equals(fits)).toBe(true)
    expect(tooLarge(() => codec.encode(Buffer.alloc(99_996, 1))).size).toBe(100_001)
  })

  it('decode refuses a larger payload written by a codec with a larger limit, compressed or not', () => {
    const value = Buffer.alloc(LIMIT, 1)
    const strict = [
      msgpackCodec({ maxSerializedBytes: LIMIT, accept: [lz4()] }),
      createCodec({
        serializer: serializers.msgpack,
        transforms: [aesK1()],
        maxSerializedBytes: LIMIT,
        accept: [lz4()],
      }),
    ]
    const lax = [
      defaultCodec(),
      msgpackCodec(),
      createCodec({ serializer: serializers.msgpack, transforms: [lz4(), aesK1()] }),
    ]
    for (const writer of lax) {
      const bytes = writer.encode(value)
      const reader = writer.name.includes('aes') ? strict[1]! : strict[0]!
      expect(decodeFailure(() => reader.decode(bytes)).message).toMatch(/above maxSerializedBytes 65536/)
      expect(writer.decode(bytes)).toStrictEqual(value)
    }
  })
})

describe('maxSerializedBytes at its default, 256 MiB', () => {
  const DEFAULT = 256 * 1024 * 1024

  it('a 256 MiB compressible buffer is refused at encode (it used to encode, then never decode)', () => {
    // msgpack bin32 adds 5 bytes: 256 MiB - 4 bytes of data serialize to one byte over the limit.
    // About 512 MB for a moment (the buffer and msgpackr's copy), then freed.
    const error = tooLarge(() => defaultCodec().encode(Buffer.alloc(DEFAULT - 4)))
    expect(error.size).toBe(DEFAULT + 1)
    expect(error.limit).toBe(DEFAULT)
  })

  it('an lz4 block declaring more than 256 MiB is refused before anything is allocated', () => {
    const prefix = Buffer.alloc(8)
    prefix.writeUInt32LE(DEFAULT + 1, 0)
    const error = decodeFailure(() => defaultCodec().decode(forge(FORMAT.msgpack, [lz4Step()], prefix)))
    expect(error.message).toMatch(/decompresses to 268435457 bytes, above maxSerializedBytes 268435456/)
  })
})

describe('maxBytes applies on both sides', () => {
  it('decode refuses bytes above maxBytes before reading them', () => {
    const bytes = msgpackCodec().encode('y'.repeat(500))
    const codec = msgpackCodec({ maxBytes: 100 })
    expect(decodeFailure(() => codec.decode(bytes)).message).toMatch(/is 510 bytes, above maxBytes 100/)
    tooLarge(() => codec.encode('y'.repeat(500)))
    expect(codec.decode(codec.encode('y'.repeat(50)))).toBe('y'.repeat(50))
  })
})

/** `depth` containers of `kind` nested in one another, around a 0. */
function nested(kind: 'array' | 'object' | 'map' | 'set', depth: number): unknown {
  let value: unknown = 0
  for (let i = 0; i < depth; i++) {
    if (kind === 'array') value = [value]
    else if (kind === 'object') value = { k: value }
    else if (kind === 'map') value = new Map([['k', value]])
    else value = new Set([value])
  }
  return value
}

/** Checks, level by level (no recursion), that `value` is `nested(kind, depth)`. */
function expectNested(value: unknown, kind: 'array' | 'object' | 'map' | 'set', depth: number): void {
  let current = value
  for (let i = 0; i < depth; i++) {
    if (kind === 'array' && Array.isArray(current) && current.length === 1) current = current[0]
    else if (kind === 'object' && typeof current === 'object' && current !== null && 'k' in current)
      current = (current as { k: unknown }).k
    else if (kind === 'map' && current instanceof Map && current.size === 1) current = current.get('k')
    else if (kind === 'set' && current instanceof Set && current.size === 1) current = [...current][0]
    else throw new Error(`level ${i} is not a ${kind} of one item`)
  }
  expect(current).toBe(0)
}

function depthFailure(codec: Codec, value: unknown): string {
  let thrown: unknown
  try {
    codec.encode(value)
  } catch (error) {
    thrown = error
  }
  expect(CacheError.hasCode(thrown, 'E_CODEC_ENCODE'), 'expected E_CODEC_ENCODE').toBe(true)
  return (thrown as Error).message
}

describe(`nesting depth: at most ${MAX_DEPTH} levels, refused at encode beyond`, () => {
  const v8 = createCodec({ serializer: serializers.v8 })
  // How many containers of a kind fit: a Set is two levels in msgpack (an extension around an
  // array); in tagged JSON a Map is three (tag object, entry list, entry) and a Set two.
  const cases: Array<[string, 'array' | 'object' | 'map' | 'set', number, Codec]> = [
    ['msgpack', 'array', 1000, msgpackCodec()],
    ['msgpack', 'object', 1000, msgpackCodec()],
    ['msgpack', 'map', 1000, msgpackCodec()],
    ['msgpack', 'set', 500, msgpackCodec()],
    ['msgpack+lz4', 'object', 1000, defaultCodec()],
    ['json', 'array', 1000, jsonCodec()],
    ['json', 'object', 1000, jsonCodec()],
    ['json', 'map', 334, jsonCodec()],
    ['json', 'set', 500, jsonCodec()],
    ['v8', 'array', 1000, v8],
    ['v8', 'object', 1000, v8],
    ['v8', 'map', 1000, v8],
    ['v8', 'set', 1000, v8],
  ]

  it.each(cases)(
    '%s: %s nested %i deep round-trips, one more is E_CODEC_ENCODE naming the limit',
    (name, kind, fits, codec) => {
      // Checked by hand: vitest's deep equality is recursive and runs out of stack on deep Maps/Sets.
      expectNested(codec.decode(codec.encode(nested(kind, fits))), kind, fits)
      const message = depthFailure(codec, nested(kind, fits + 1))
      expect(message).toContain(`nests deeper than ${MAX_DEPTH} levels`)
      expect(message).toContain(name.split('+')[0])
    },
  )

  it('any object counts as a level, a leaf too: a Date 1,000 arrays deep is one too many', () => {
    let value: unknown = new Date(0)
    for (let i = 0; i < MAX_DEPTH - 1; i++) value = [value]
    for (const codec of [jsonCodec(), msgpackCodec(), v8]) {
      let current = codec.decode(codec.encode(value))
      for (let i = 0; i < MAX_DEPTH - 1; i++) current = (current as unknown[])[0]
      expect(current).toStrictEqual(new Date(0))
      depthFailure(codec, [value])
    }
  })

  it('plain and tagged JSON have the same limit (a Date at the bottom makes the value tagged)', () => {
    let tagged: unknown = new Date(0)
    for (let i = 0; i < MAX_DEPTH - 1; i++) tagged = { k: tagged }
    let current = jsonCodec().decode(jsonCodec().encode(tagged))
    for (let i = 0; i < MAX_DEPTH - 1; i++) current = (current as { k: unknown }).k
    expect(current).toStrictEqual(new Date(0))
    expect(depthFailure(jsonCodec(), { k: tagged })).toContain('nests deeper than 1000 levels')
  })

  it('a cycle is named as such in json and msgpack; v8 writes cycles', () => {
    const cyclic: Record<string, unknown> = { name: 'loop' }
    cyclic.self = { back: cyclic }
    expect(depthFailure(jsonCodec(), cyclic)).toMatch(/holds a cycle, which json cannot write/)
    expect(depthFailure(msgpackCodec(), cyclic)).toMatch(/holds a cycle, which msgpack cannot write/)
    expect(depthFailure(msgpackCodec(), [new Set([cyclic])])).toMatch(/holds a cycle/)
    const decoded = v8.decode(v8.encode(cyclic)) as { self: { back: unknown } }
    expect(decoded.self.back).toBe(decoded)
  })

  it('v8: shared references are walked once, so a wide DAG does not blow up', () => {
    // 2^60 paths from the top, 60 distinct objects: a walk without memory would never end.
    let value: unknown = { leaf: true }
    for (let i = 0; i < 60; i++) value = [value, value]
    const decoded = v8.decode(v8.encode(value)) as unknown[]
    expect(decoded[0]).toBe(decoded[1])
  })

  it('deeper values still fail as E_CODEC_ENCODE, never a RangeError, however deep', () => {
    for (const codec of [jsonCodec(), msgpackCodec(), v8]) {
      expect(depthFailure(codec, nested('array', 100_000))).toContain(`nests deeper than ${MAX_DEPTH} levels`)
    }
  })
})

import { type Codec, type CodecContext, CodecDecodeError } from '@cachekit/core'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { VERSION } from '../src/header.js'
import { createCodec, inspectEncoded, lz4 } from '../src/index.js'
import { aesK1, omnivore, serializers } from './support/fixtures.js'

/**
 * Exhaustive corruption of a few valid encodings: every truncation and every single-bit flip, with
 * and without additional data, must be a CodecDecodeError: never a value (right or wrong), never
 * another kind of error. Decoding is synchronous, so a hang would time the test out.
 */

const context: CodecContext = {
  additionalData: [Buffer.from('app:users:42'), Uint8Array.from({ length: 28 }, (_, i) => 255 - i)],
}

const lz4Always = lz4({ threshold: 0 })
const codecs: Record<string, Codec> = {
  msgpack: createCodec({ serializer: serializers.msgpack }),
  'msgpack+lz4': createCodec({ serializer: serializers.msgpack, transforms: [lz4Always] }),
  'msgpack+aes': createCodec({ serializer: serializers.msgpack, transforms: [aesK1()] }),
  'msgpack+lz4+aes': createCodec({ serializer: serializers.msgpack, transforms: [lz4Always, aesK1()] }),
  'json+lz4': createCodec({ serializer: serializers.json, transforms: [lz4Always] }),
  v8: createCodec({ serializer: serializers.v8 }),
}

const values: Record<string, unknown> = {
  plain: { id: 42, name: 'Ada', roles: ['admin', 'editor'], active: true },
  tagged: { at: new Date(0), ids: new Set([1, 2]), big: 2n ** 64n },
  compressible: 'abcabcabc'.repeat(40),
}

/** What decoding did: 'decode-error' for a CodecDecodeError, else a description of what went wrong. */
function outcome(codec: Codec, bytes: Uint8Array, ctx: CodecContext | undefined): string {
  try {
    const decoded = codec.decode(bytes, ctx)
    return `returned a value: ${typeof decoded}`
  } catch (error) {
    if (error instanceof CodecDecodeError) return 'decode-error'
    return `threw ${String(error)}`
  }
}

describe('every truncation and single-bit flip of a valid encoding is CodecDecodeError', () => {
  const cases = Object.entries(codecs).flatMap(([codecName, codec]) =>
    Object.entries(values).flatMap(([valueName, value]) =>
      [false, true].map(
        (bound) =>
          [
            `${codecName}, ${valueName}, ${bound ? 'with' : 'without'} additional data`,
            codec,
            value,
            bound,
          ] as const,
      ),
    ),
  )

  it.each(cases)('%s', (_label, codec, value, bound) => {
    const ctx = bound ? context : undefined
    const bytes = codec.encode(value, ctx)
    expect(codec.decode(bytes, ctx)).toStrictEqual(value)
    // The other side of the additional data: bound bytes need it, unbound ones refuse it.
    expect(outcome(codec, bytes, bound ? undefined : context)).toBe('decode-error')
    const failures: string[] = []
    for (let length = 0; length < bytes.length; length++) {
      const result = outcome(codec, bytes.subarray(0, length), ctx)
      if (result !== 'decode-error') failures.push(`truncated to ${length}: ${result}`)
    }
    const copy = Buffer.from(bytes)
    for (let bit = 0; bit < bytes.length * 8; bit++) {
      copy[bit >> 3] = copy[bit >> 3]! ^ (1 << (bit & 7))
      const result = outcome(codec, copy, ctx)
      copy[bit >> 3] = copy[bit >> 3]! ^ (1 << (bit & 7))
      if (result !== 'decode-error') failures.push(`bit ${bit} flipped: ${result}`)
    }
    expect(failures).toEqual([])
  })

  it('the lz4 cases really are compressed and the aes cases encrypted', () => {
    const steps = (name: string): string[] =>
      inspectEncoded(codecs[name]!.encode(values.compressible)).transforms.map((step) => step.name)
    expect(steps('msgpack+lz4')).toEqual(['lz4'])
    expect(steps('json+lz4')).toEqual(['lz4'])
    expect(steps('msgpack+lz4+aes')).toEqual(['lz4', 'aes256gcm'])
    expect(steps('msgpack+aes')).toEqual(['aes256gcm'])
  })
})

describe('random buffers are CodecDecodeError', () => {
  const readers = [...Object.values(codecs), omnivore()]

  function check(bytes: Uint8Array): void {
    for (const reader of readers) {
      for (const ctx of [undefined, context]) {
        const result = outcome(reader, bytes, ctx)
        if (result !== 'decode-error')
          throw new Error(`${reader.name}: ${result} for ${Buffer.from(bytes).toString('hex')}`)
      }
    }
  }

  it('any bytes', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 256 }), check), { numRuns: 10_000 })
  })

  it('bytes behind a header that parses (magic, the current version, a known format, steps)', () => {
    // Step lists as the header writes them: lz4 (1), aes with key id k1 or k2 (2, length, id), or both.
    const header = fc.tuple(
      fc.integer({ min: 1, max: 5 }),
      fc.constantFrom(
        { count: 0, steps: [] },
        { count: 1, steps: [1] },
        { count: 1, steps: [2, 2, 0x6b, 0x31] },
        { count: 2, steps: [1, 2, 2, 0x6b, 0x31] },
        { count: 2, steps: [2, 2, 0x6b, 0x32, 1] },
      ),
    )
    fc.assert(
      fc.property(header, fc.uint8Array({ maxLength: 256 }), ([format, { count, steps }], tail) => {
        check(Uint8Array.from([0xc1, (VERSION << 4) | format, count, ...steps, ...tail]))
      }),
      { numRuns: 10_000 },
    )
  })
})

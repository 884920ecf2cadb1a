import { type Codec, CodecDecodeError } from '@cachekit/core'
import fc from 'fast-check'
import { C1 } from 'msgpackr'
import { describe, expect, it } from 'vitest'
import { type FormatId, type HeaderStep, headerLength, lz4Step, VERSION, writeHeader } from '../src/header.js'
import { aes256gcm, createCodec, jsonCodec, msgpackCodec } from '../src/index.js'
import {
  allChains,
  decodeFailure,
  FORMAT,
  forge,
  KEY_1,
  omnivore,
  serializers,
  transformCombos,
} from './support/fixtures.js'

/** Arbitrary values of the types a serializer supports, nested in arrays, objects, Maps and Sets. */
function values(options: { undefined: boolean; negativeZero: boolean }): fc.Arbitrary<unknown> {
  const double = options.negativeZero ? fc.double() : fc.double().map((x) => (Object.is(x, -0) ? 0 : x))
  const leaves: Array<fc.Arbitrary<unknown>> = [
    fc.constant(null),
    fc.boolean(),
    fc.integer(),
    double,
    fc.string({ unit: 'binary', maxLength: 12 }),
    fc.bigInt(),
    fc.date({ noInvalidDate: false }),
    fc.uint8Array({ maxLength: 8 }),
    fc.uint8Array({ maxLength: 8 }).map((bytes) => Buffer.from(bytes)),
    fc.float32Array({ maxLength: 8 }),
    fc.float64Array({ maxLength: 4 }),
    fc.int16Array({ maxLength: 4 }),
    fc.bigInt64Array({ maxLength: 3 }),
  ]
  if (options.undefined) leaves.push(fc.constant(undefined))
  const key = fc.oneof(fc.string({ maxLength: 6 }), fc.constantFrom('$t', '$$t', '$$$t', 'v', '__proto_'))
  const { value } = fc.letrec((tie) => ({
    value: fc.oneof(
      { depthSize: 'small', withCrossShrink: true },
      fc.oneof(...leaves),
      tie('array'),
      tie('object'),
      tie('map'),
      tie('set'),
    ),
    array: fc.array(tie('value'), { maxLength: 5 }),
    object: fc.dictionary(key, tie('value'), { maxKeys: 5, noNullPrototype: true }),
    map: fc.array(fc.tuple(tie('value'), tie('value')), { maxLength: 4 }).map((entries) => new Map(entries)),
    set: fc.array(tie('value'), { maxLength: 4 }).map((items) => new Set(items)),
  }))
  return value
}

const supported = {
  // JSON drops undefined in objects and turns it into null in arrays, so it is left out here.
  json: values({ undefined: false, negativeZero: true }),
  // msgpack writes -0 as the integer 0.
  msgpack: values({ undefined: true, negativeZero: false }),
  v8: values({ undefined: true, negativeZero: true }),
}

describe('round-trip of arbitrary values', () => {
  for (const [name, arbitrary] of Object.entries(supported)) {
    const serializer = serializers[name as keyof typeof serializers]
    const codecs = transformCombos().map(({ transforms }) => createCodec({ serializer, transforms }))
    it(`${name}, through every transform combination`, () => {
      fc.assert(
        fc.property(arbitrary, (value) => {
          for (const codec of codecs)
            expect(codec.decode(codec.encode(value)), codec.name).toStrictEqual(value)
        }),
        { numRuns: 200 },
      )
    })
  }
})

/** Decodes, and passes if that returns a value or throws CodecDecodeError; anything else fails. */
function decodesOrRejects(codec: Codec, bytes: Uint8Array): void {
  try {
    codec.decode(bytes)
  } catch (error) {
    if (!(error instanceof CodecDecodeError)) {
      throw new Error(`${codec.name} threw ${String(error)} instead of a CodecDecodeError`, { cause: error })
    }
  }
}

describe('garbage', () => {
  const chains = allChains()
  const lenient = createCodec({
    serializer: serializers.msgpack,
    transforms: [aes256gcm({ keys: { k1: KEY_1 }, currentKeyId: 'k1', allowUnencrypted: true })],
  })

  it('random bytes: CodecDecodeError (or, if they happen to be valid, a value), never another error', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
        for (const codec of chains) decodesOrRejects(codec, bytes)
      }),
      { numRuns: 300 },
    )
  })

  it('random bytes behind a valid header: always CodecDecodeError', () => {
    const header = fc.record({
      format: fc.integer({ min: 0, max: 15 }),
      steps: fc.array(fc.integer({ min: 0, max: 3 }), { maxLength: 3 }),
    })
    fc.assert(
      fc.property(header, fc.uint8Array({ maxLength: 300 }), ({ format, steps }, tail) => {
        const bytes = Buffer.concat([
          Uint8Array.from([0xc1, (VERSION << 4) | format, steps.length, ...steps]),
          tail,
        ])
        for (const codec of chains) decodesOrRejects(codec, bytes)
      }),
      { numRuns: 300 },
    )
  })

  it('random payloads with a correct CRC reach msgpackr, JSON, v8 and lz4: value or CodecDecodeError', () => {
    const format = fc.integer({ min: 1, max: 5 }) as fc.Arbitrary<FormatId>
    const readsAll = omnivore()
    fc.assert(
      fc.property(format, fc.boolean(), fc.uint8Array({ maxLength: 400 }), (id, compressed, payload) => {
        const steps: HeaderStep[] = compressed ? [lz4Step()] : []
        decodesOrRejects(readsAll, forge(id, steps, payload))
        decodesOrRejects(lenient, forge(id, steps, payload))
        decodesOrRejects(msgpackCodec(), forge(id, steps, payload))
      }),
      { numRuns: 1000 },
    )
  })

  it('forged tagged JSON with a correct CRC: value or CodecDecodeError', () => {
    const tag = fc.constantFrom(
      'U',
      'N',
      'I',
      'D',
      'M',
      'S',
      'B',
      'ab',
      'dv',
      'f32',
      'i64',
      'u8c',
      'zz',
      1,
      null,
    )
    const tagged = fc.oneof(
      fc.record({ $t: tag, v: fc.jsonValue({ maxDepth: 3 }) }),
      fc.jsonValue({ maxDepth: 3 }).map((v) => ({ $$t: 'x', $t: 'M', v: [[v, { $t: 'S', v }]] })),
      fc.jsonValue({ maxDepth: 3 }),
    )
    fc.assert(
      fc.property(tagged, (value) => {
        decodesOrRejects(jsonCodec(), forge(FORMAT.jsonTagged, [], Buffer.from(JSON.stringify(value))))
      }),
      { numRuns: 500 },
    )
  })

  it('forged tagged msgpack with a correct CRC: value or CodecDecodeError', () => {
    const raw = fc.array(fc.oneof(fc.constant(C1), fc.integer({ min: -1, max: 3 }), fc.string()), {
      maxLength: 6,
    })
    const packr = serializers.msgpack
    expect(packr.name).toBe('msgpack')
    fc.assert(
      fc.property(raw, fc.uint8Array({ maxLength: 40 }), (array, tail) => {
        const body = msgpackCodec().encode(array).subarray(3, -4) // the untagged payload
        decodesOrRejects(msgpackCodec(), forge(FORMAT.msgpackTagged, [], body))
        decodesOrRejects(msgpackCodec(), forge(FORMAT.msgpackTagged, [], Buffer.concat([body, tail])))
      }),
      { numRuns: 300 },
    )
  })

  it('random bytes behind an aes header: always CodecDecodeError', () => {
    const codec = createCodec({
      serializer: serializers.msgpack,
      transforms: [aes256gcm({ keys: { k1: KEY_1 }, currentKeyId: 'k1' })],
    })
    const step: HeaderStep = { id: 2, keyId: 'k1', keyIdBytes: Buffer.from('k1') }
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 5 }), fc.uint8Array({ maxLength: 200 }), (format, payload) => {
        const header = Buffer.alloc(headerLength([step]))
        writeHeader(header, format as FormatId, [step])
        decodeFailure(() => codec.decode(Buffer.concat([header, payload])))
      }),
      { numRuns: 300 },
    )
  })
})

describe('corrupted valid encodings are always CodecDecodeError', () => {
  const chains = allChains()
  const input = fc.record({
    value: fc.jsonValue({ maxDepth: 3 }),
    chain: fc.nat({ max: chains.length - 1 }),
    position: fc.nat(),
  })

  it('a single flipped bit anywhere', () => {
    fc.assert(
      fc.property(input, ({ value, chain, position }) => {
        const codec = chains[chain]!
        const bytes = Buffer.from(codec.encode(value))
        const bit = position % (bytes.length * 8)
        bytes[bit >> 3] = bytes[bit >> 3]! ^ (1 << (bit & 7))
        decodeFailure(() => codec.decode(bytes))
      }),
      { numRuns: 2000 },
    )
  })

  it('a truncation at any length', () => {
    fc.assert(
      fc.property(input, ({ value, chain, position }) => {
        const codec = chains[chain]!
        const bytes = codec.encode(value)
        decodeFailure(() => codec.decode(bytes.subarray(0, position % bytes.length)))
      }),
      { numRuns: 1000 },
    )
  })

  it('extra bytes at the end', () => {
    fc.assert(
      fc.property(input, fc.uint8Array({ minLength: 1, maxLength: 8 }), ({ value, chain }, extra) => {
        const codec = chains[chain]!
        decodeFailure(() => codec.decode(Buffer.concat([codec.encode(value), extra])))
      }),
      { numRuns: 1000 },
    )
  })
})

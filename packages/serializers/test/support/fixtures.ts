import { CacheError, type Codec, CodecDecodeError } from '@cachekit/core'
import { expect } from 'vitest'
import { crc32 } from '../../src/checksum.js'
import { FORMAT, type FormatId, type HeaderStep, headerLength, writeHeader } from '../../src/header.js'
import {
  aes256gcm,
  createCodec,
  jsonSerializer,
  lz4,
  msgpackSerializer,
  type Serializer,
  type Transform,
  v8Serializer,
} from '../../src/index.js'

export const KEY_1 = Buffer.alloc(32, 0xa1)
export const KEY_2 = Buffer.alloc(32, 0xb2)

/** A keyring that knows k1 and k2 and writes with k1. */
export function aesK1(): Transform {
  return aes256gcm({ keys: { k1: KEY_1, k2: KEY_2 }, currentKeyId: 'k1' })
}

export const serializers: Record<'json' | 'msgpack' | 'v8', Serializer> = {
  json: jsonSerializer(),
  msgpack: msgpackSerializer(),
  v8: v8Serializer(),
}

/**
 * Every transform combination. lz4 with threshold 0 so that even small values go through it (it is
 * still skipped when it would not shrink them).
 */
export function transformCombos(): Array<{ label: string; transforms: Transform[] }> {
  return [
    { label: 'none', transforms: [] },
    { label: 'lz4', transforms: [lz4({ threshold: 0 })] },
    { label: 'aes', transforms: [aesK1()] },
    { label: 'lz4+aes', transforms: [lz4({ threshold: 0 }), aesK1()] },
  ]
}

/**
 * A codec that reads every format and step (msgpack, plus json, v8 and lz4 in `accept`, and the k1/k2
 * keyring with plaintext allowed): for tests that feed forged payloads to every decoder.
 */
export function omnivore(): Codec {
  return createCodec({
    serializer: msgpackSerializer(),
    transforms: [aes256gcm({ keys: { k1: KEY_1, k2: KEY_2 }, currentKeyId: 'k1', allowUnencrypted: true })],
    accept: [jsonSerializer(), v8Serializer(), lz4()],
  })
}

/** Every serializer through every transform combination. */
export function allChains(): Codec[] {
  const codecs: Codec[] = []
  for (const serializer of Object.values(serializers)) {
    for (const { transforms } of transformCombos()) codecs.push(createCodec({ serializer, transforms }))
  }
  return codecs
}

/**
 * A 1,536-float embedding with the awkward values: NaN with payloads (quiet and signalling, both
 * signs), -0, +-Infinity, subnormals, the extremes, and ordinary values.
 */
export function embedding(): Float32Array {
  const floats = new Float32Array(1536)
  for (let i = 0; i < floats.length; i++) floats[i] = Math.sin(i * 0.37) * 0.123
  const bits = new Uint32Array(floats.buffer)
  const awkward = [
    0x7fc00000, // canonical quiet NaN
    0x7fc00001, // quiet NaN with a payload
    0xffc12345, // negative quiet NaN with a payload
    0x7f800001, // signalling NaN
    0x80000000, // -0
    0x7f800000, // +Infinity
    0xff800000, // -Infinity
    0x00000001, // smallest subnormal
    0x807fffff, // largest negative subnormal
    0x7f7fffff, // largest finite
    0x00800000, // smallest normal
  ]
  awkward.forEach((value, i) => {
    bits[i] = value
  })
  return floats
}

/** The raw bits of a Float32Array, to compare bit-exactly (NaN payloads included). */
export function bitsOf(floats: Float32Array): number[] {
  return Array.from(new Uint32Array(floats.buffer, floats.byteOffset, floats.length))
}

/** Runs `fn` and returns the CodecDecodeError it throws; fails the test on anything else. */
export function decodeFailure(fn: () => unknown): CodecDecodeError {
  let thrown: unknown
  try {
    fn()
  } catch (error) {
    thrown = error
  }
  expect(thrown, 'expected a CodecDecodeError').toBeInstanceOf(CodecDecodeError)
  expect(CacheError.hasCode(thrown, 'E_CODEC_DECODE')).toBe(true)
  return thrown as CodecDecodeError
}

/**
 * Builds an unencrypted encoded value by hand, with a correct CRC: how tests get arbitrary payload
 * bytes past the checksum and into the decoders.
 */
export function forge(format: FormatId, steps: HeaderStep[], payload: Uint8Array): Buffer {
  const length = headerLength(steps)
  const end = length + payload.length
  const out = Buffer.alloc(end + 4)
  writeHeader(out, format, steps)
  out.set(payload, length)
  // The CRC stream with no additional data: a u32 count of 0, then the header and the payload.
  out.writeUInt32LE(crc32(out.subarray(0, end), crc32(Buffer.alloc(4))), end)
  return out
}

export { FORMAT }

import { CacheError, type Codec, ValueTooLargeError } from '@cachekit/core'
import { crc32 } from './checksum.js'
import { decodeError, encodeError, messageOf, optionError } from './errors.js'
import {
  CHECKSUM_BYTES,
  FORMAT,
  type FormatId,
  type HeaderStep,
  headerLength,
  lz4Step,
  parseHeader,
  STEP,
  writeHeader,
} from './header.js'
import { jsonSerializer } from './json_serializer.js'
import { lz4Decompress } from './lz4_transform.js'
import { msgpackSerializer } from './msgpack_serializer.js'
import { asBuffer, type Serializer, type SerializerImpl, serializerImpl } from './serializer.js'
import { type AesImpl, type Lz4Impl, type Transform, transformImpl } from './transform.js'
import { v8Serializer } from './v8_serializer.js'

/** Options of `createCodec()`. */
export interface CodecOptions {
  /** Turns values into bytes: `jsonSerializer()`, `msgpackSerializer()` or `v8Serializer()`. */
  serializer: Serializer
  /**
   * Byte transforms applied in order after the serializer: at most one `lz4()` and one `aes256gcm()`,
   * the latter last. Default none.
   */
  transforms?: readonly Transform[]
  /**
   * Refuse to encode a value whose encoded size (header included) is above this many bytes, with a
   * `ValueTooLargeError`. Nothing is ever truncated. Default: no limit.
   */
  maxBytes?: number
  /**
   * When decoding, refuse an lz4 block that claims to decompress to more than this many bytes, before
   * allocating anything. Default 256 MiB.
   */
  maxDecompressedBytes?: number
}

const DEFAULT_MAX_DECOMPRESSED = 256 * 1024 * 1024

// Decoding picks the serializer by the header's format, whatever the codec writes with: every
// codec reads all three.
const readers: Record<FormatId, SerializerImpl> = (() => {
  const json = serializerImpl(jsonSerializer())!
  const msgpack = serializerImpl(msgpackSerializer())!
  const v8 = serializerImpl(v8Serializer())!
  return {
    [FORMAT.json]: json,
    [FORMAT.jsonTagged]: json,
    [FORMAT.msgpack]: msgpack,
    [FORMAT.msgpackTagged]: msgpack,
    [FORMAT.v8]: v8,
  }
})()

function checkLimit(
  name: string,
  value: number | undefined,
  fallback: number | undefined,
): number | undefined {
  if (value === undefined) return fallback
  if (!Number.isSafeInteger(value) || value <= 0) {
    throw optionError(`${name} must be a positive integer, got ${String(value)}`)
  }
  return value
}

/**
 * A codec: one serializer followed by byte transforms, e.g. msgpack -> lz4 -> aes-256-gcm. Every value
 * it writes starts with a header naming the format and the steps applied, plus a CRC-32 (or the GCM
 * tag), and it decodes values written by any chain (given the AES keys).
 *
 * Decoding never throws anything but `CodecDecodeError` (`E_CODEC_DECODE`): truncated, tampered or
 * foreign bytes are reported, never returned as a wrong value.
 * @throws InvalidOptionError when the options are not a valid chain.
 */
export function createCodec(options: CodecOptions): Codec {
  if (typeof options !== 'object' || options === null) throw optionError('createCodec needs { serializer }')
  const serializer = serializerImpl(options.serializer)
  if (serializer === undefined) {
    throw optionError('serializer must be jsonSerializer(), msgpackSerializer() or v8Serializer()')
  }
  let compressor: Lz4Impl | undefined
  let cipher: AesImpl | undefined
  const transforms = options.transforms ?? []
  if (!Array.isArray(transforms)) throw optionError('transforms must be an array')
  for (const transform of transforms) {
    const impl = transformImpl(transform)
    if (impl === undefined) throw optionError('transforms must be made by lz4() or aes256gcm()')
    if (cipher !== undefined)
      throw optionError('aes256gcm must be the last transform: ciphertext does not compress')
    if (impl.name === 'lz4') {
      if (compressor !== undefined) throw optionError('lz4 is listed twice')
      compressor = impl
    } else {
      cipher = impl
    }
  }
  const maxBytes = checkLimit('maxBytes', options.maxBytes, undefined)
  const maxDecompressed = checkLimit(
    'maxDecompressedBytes',
    options.maxDecompressedBytes,
    DEFAULT_MAX_DECOMPRESSED,
  )!
  const name = [serializer.name, ...transforms.map((transform) => transform.name)].join('+')

  function frame(value: unknown): Buffer {
    const serialized = serializer!.serialize(value)
    let body = serialized.bytes
    const steps: HeaderStep[] = []
    const compressed = compressor?.compress(body)
    if (compressed !== undefined) {
      body = compressed
      steps.push(lz4Step())
    }
    if (cipher !== undefined) {
      steps.push(cipher.currentStep)
      const length = headerLength(steps)
      const out = Buffer.allocUnsafe(length + cipher.overhead + body.length)
      writeHeader(out, serialized.format, steps)
      cipher.sealInto(out, length, body)
      return out
    }
    const length = headerLength(steps)
    const out = Buffer.allocUnsafe(length + CHECKSUM_BYTES + body.length)
    writeHeader(out, serialized.format, steps)
    out.writeUInt32LE(crc32(body, crc32(out.subarray(0, length))), length)
    out.set(body, length + CHECKSUM_BYTES)
    return out
  }

  function encode(value: unknown): Uint8Array {
    let out: Buffer
    try {
      out = frame(value)
    } catch (error) {
      if (CacheError.isInstance(error)) throw error
      throw encodeError(`${name} cannot represent the value: ${messageOf(error)}`, error)
    }
    if (maxBytes !== undefined && out.length > maxBytes) {
      throw new ValueTooLargeError(
        out.length,
        maxBytes,
        `[cachekit/serializers] ${name} encoded the value to ${out.length} bytes, above maxBytes ${maxBytes}`,
      )
    }
    return out
  }

  function decode(bytes: Uint8Array): unknown {
    if (!(bytes instanceof Uint8Array)) throw decodeError(`expected a Uint8Array, got ${typeof bytes}`)
    const header = parseHeader(bytes)
    let body: Uint8Array = bytes.subarray(header.bodyOffset)
    if (header.checksum) {
      const stored = asBuffer(bytes).readUInt32LE(header.stepsEnd)
      if (crc32(body, crc32(bytes.subarray(0, header.stepsEnd))) !== stored) {
        throw decodeError('checksum mismatch (the bytes are corrupt or truncated)')
      }
    }
    if (
      cipher !== undefined &&
      !cipher.allowUnencrypted &&
      !header.steps.some((s) => s.id === STEP.aes256gcm)
    ) {
      throw decodeError(`${name} only accepts encrypted values, and this one is not encrypted`)
    }
    for (let i = header.steps.length - 1; i >= 0; i--) {
      const step = header.steps[i]!
      if (step.id === STEP.lz4) {
        body = lz4Decompress(body, maxDecompressed)
      } else if (cipher === undefined) {
        throw decodeError(
          `the value is encrypted with key id ${JSON.stringify(step.keyId)}, and ${name} has no aes256gcm keyring`,
        )
      } else {
        body = cipher.open(bytes.subarray(0, header.stepsEnd), body, step.keyId)
      }
    }
    try {
      return readers[header.format].deserialize(body, header.format)
    } catch (error) {
      throw decodeError(`the ${readers[header.format].name} payload is invalid: ${messageOf(error)}`, error)
    }
  }

  return { name, encode, decode }
}

import { CacheError, type Codec, type CodecContext, ValueTooLargeError } from '@cachekit/core'
import { aadOf, type Chunk, checksumOf, chunksOf } from './additional_data.js'
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
  serializerNameOf,
  writeHeader,
} from './header.js'
import { depthError, NestingTooDeep } from './nesting_depth.js'
import { type Serializer, type SerializerImpl, serializerImpl } from './serializer.js'
import { type AesImpl, type Lz4Impl, type Transform, type TransformImpl, transformImpl } from './transform.js'

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
   * Formats this codec also decodes, without ever writing them: serializers and transforms of another
   * chain, while migrating a cache from it. By default a codec decodes only what it writes (its
   * serializer's formats, and lz4 when `transforms` has it), so bytes planted in Redis in another
   * format, say v8, never reach that format's decoder. Default none.
   *
   * @example
   * // Moving from JSON to msgpack + lz4: read the old values until they expire.
   * createCodec({ serializer: msgpackSerializer(), transforms: [lz4()], accept: [jsonSerializer()] })
   * // Moving off lz4, or off encryption: keep reading what was written with them.
   * msgpackCodec({ accept: [lz4(), aes256gcm({ keys, currentKeyId })] })
   */
  accept?: readonly (Serializer | Transform)[]
  /**
   * The largest encoded value (header included, after compression and encryption), in bytes. `encode`
   * refuses a larger one with a `ValueTooLargeError` (nothing is truncated) and `decode` refuses
   * larger bytes with a `CodecDecodeError` before looking at them. Default: no limit.
   */
  maxBytes?: number
  /**
   * The largest serialized value (after the serializer, before compression and encryption), in bytes.
   * `encode` refuses a larger one with a `ValueTooLargeError`; `decode` refuses an lz4 block that
   * claims to decompress to more before allocating anything, and any larger payload. Both sides apply
   * the same limit, so no value is stored that this codec cannot read back. Default 256 MiB.
   */
  maxSerializedBytes?: number
}

const DEFAULT_MAX_SERIALIZED = 256 * 1024 * 1024

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

const FORMAT_IDS = Object.values(FORMAT) as FormatId[]

const FACTORY_OF = { json: 'jsonSerializer()', msgpack: 'msgpackSerializer()', v8: 'v8Serializer()' } as const

/** What a chain reads: the decoder of each format it allows, and the transforms it can undo. */
interface ReadPolicy {
  readonly readers: ReadonlyArray<SerializerImpl | undefined>
  readonly decompressor: Lz4Impl | undefined
  readonly decipher: AesImpl | undefined
}

function readPolicy(
  serializer: SerializerImpl,
  compressor: Lz4Impl | undefined,
  cipher: AesImpl | undefined,
  accept: unknown,
): ReadPolicy {
  if (accept !== undefined && !Array.isArray(accept)) throw optionError('accept must be an array')
  const readers: Array<SerializerImpl | undefined> = []
  const allow = (impl: SerializerImpl): void => {
    for (const format of FORMAT_IDS) if (serializerNameOf(format) === impl.name) readers[format] = impl
  }
  allow(serializer)
  let decompressor = compressor
  let decipher = cipher
  for (const item of (accept ?? []) as unknown[]) {
    const asSerializer = serializerImpl(item)
    if (asSerializer !== undefined) {
      allow(asSerializer)
      continue
    }
    const asTransform: TransformImpl | undefined = transformImpl(item)
    if (asTransform === undefined) {
      throw optionError('accept must list serializers and transforms made by this package')
    }
    if (asTransform.name === 'lz4') {
      decompressor ??= asTransform
    } else if (decipher === undefined) {
      decipher = asTransform
    } else if (decipher !== asTransform) {
      // Two keyrings would make "which keys decrypt" a puzzle; one keyring lists every old key.
      throw optionError(
        'accept lists an aes256gcm keyring besides the one in transforms: list old keys there',
      )
    }
  }
  return { readers, decompressor, decipher }
}

/**
 * A codec: one serializer followed by byte transforms, e.g. msgpack -> lz4 -> aes-256-gcm. Every value
 * it writes starts with a header naming the format and the steps applied, plus a CRC-32 (or the GCM
 * tag). It decodes only the formats it writes, plus those listed in `accept`.
 *
 * The optional codec context binds a value to bytes stored elsewhere (the cache passes the store key
 * and the entry frame): the CRC-32 and the GCM additional data cover them, so decoding with other
 * additional data, or none, fails.
 *
 * Decoding never throws anything but `CodecDecodeError` (`E_CODEC_DECODE`): truncated, tampered,
 * foreign or refused bytes are reported, never returned as a wrong value.
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
  const { readers, decompressor, decipher } = readPolicy(serializer, compressor, cipher, options.accept)
  // Only a codec that writes encrypted values insists on them; one that accepts aes reads both.
  const encryptedOnly = cipher !== undefined && !cipher.allowUnencrypted
  const maxBytes = checkLimit('maxBytes', options.maxBytes, undefined)
  const maxSerialized = checkLimit('maxSerializedBytes', options.maxSerializedBytes, DEFAULT_MAX_SERIALIZED)!
  const name = [serializer.name, ...transforms.map((transform) => transform.name)].join('+')

  function frame(value: unknown, chunks: readonly Chunk[]): Buffer {
    const serialized = serializer!.serialize(value)
    let body = serialized.bytes
    if (body.length > maxSerialized) {
      throw new ValueTooLargeError(
        body.length,
        maxSerialized,
        `[cachekit/serializers] ${name} serialized the value to ${body.length} bytes, above maxSerializedBytes ${maxSerialized} (the most it decodes)`,
      )
    }
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
      cipher.sealInto(out, length, body, aadOf(out.subarray(0, length), chunks))
      return out
    }
    const length = headerLength(steps)
    const bodyEnd = length + body.length
    const out = Buffer.allocUnsafe(bodyEnd + CHECKSUM_BYTES)
    writeHeader(out, serialized.format, steps)
    out.set(body, length)
    out.writeUInt32LE(checksumOf(chunks, out, bodyEnd), bodyEnd)
    return out
  }

  function encode(value: unknown, context?: CodecContext): Uint8Array {
    const chunks = chunksOf(context, encodeError)
    let out: Buffer
    try {
      out = frame(value, chunks)
    } catch (error) {
      if (CacheError.isInstance(error)) throw error
      if (error instanceof NestingTooDeep) throw depthError(serializer!.name, value)
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

  /** Refuses, before anything is undone, what this codec does not read. */
  function checkAllowed(format: FormatId, steps: readonly HeaderStep[]): SerializerImpl {
    const reader = readers[format]
    if (reader === undefined) {
      const other = serializerNameOf(format)
      throw decodeError(
        `the value is ${other}, which ${name} does not read; list ${FACTORY_OF[other]} in the codec's \`accept\` option to read it`,
      )
    }
    let encrypted = false
    for (const step of steps) {
      if (step.id === STEP.lz4) {
        if (decompressor === undefined) {
          throw decodeError(
            `the value is lz4-compressed, which ${name} does not decompress; add lz4() to the codec's \`transforms\` or \`accept\` option to read it`,
          )
        }
      } else if (decipher === undefined) {
        throw decodeError(
          `the value is encrypted with key id ${JSON.stringify(step.keyId)}, and ${name} has no aes256gcm keyring; add aes256gcm() with that key to \`transforms\` or \`accept\``,
        )
      } else {
        encrypted = true
      }
    }
    if (encryptedOnly && !encrypted) {
      throw decodeError(`${name} only accepts encrypted values, and this one is not encrypted`)
    }
    return reader
  }

  function decode(bytes: Uint8Array, context?: CodecContext): unknown {
    if (!(bytes instanceof Uint8Array)) throw decodeError(`expected a Uint8Array, got ${typeof bytes}`)
    if (maxBytes !== undefined && bytes.length > maxBytes) {
      throw decodeError(`the value is ${bytes.length} bytes, above maxBytes ${maxBytes}`)
    }
    const chunks = chunksOf(context, decodeError)
    const header = parseHeader(bytes)
    let body: Uint8Array = bytes.subarray(header.bodyOffset, header.bodyEnd)
    if (header.checksum) {
      const end = header.bodyEnd
      const stored =
        (bytes[end]! | (bytes[end + 1]! << 8) | (bytes[end + 2]! << 16) | (bytes[end + 3]! << 24)) >>> 0
      if (checksumOf(chunks, bytes, end) !== stored) {
        throw decodeError(
          chunks.length === 0
            ? 'checksum mismatch (the bytes are corrupt or truncated)'
            : 'checksum mismatch (the bytes are corrupt or truncated, or belong with other additional data)',
        )
      }
    }
    const reader = checkAllowed(header.format, header.steps)
    let aad: Uint8Array | undefined
    for (let i = header.steps.length - 1; i >= 0; i--) {
      const step = header.steps[i]!
      if (step.id === STEP.lz4) {
        body = decompressor!.decompress(body, maxSerialized)
      } else {
        aad ??= aadOf(bytes.subarray(0, header.stepsEnd), chunks)
        body = decipher!.open(aad, body, step.keyId)
      }
    }
    if (body.length > maxSerialized) {
      throw decodeError(`the payload is ${body.length} bytes, above maxSerializedBytes ${maxSerialized}`)
    }
    try {
      return reader.deserialize(body, header.format)
    } catch (error) {
      throw decodeError(`the ${reader.name} payload is invalid: ${messageOf(error)}`, error)
    }
  }

  return { name, encode, decode }
}

import { createHash } from 'node:crypto'
import { type Codec, type CodecContext, CodecDecodeError, ValueTooLargeError } from '../../src/index.js'

const DIGEST_BYTES = 16

/**
 * UTF-8 JSON for core's tests; real codecs live in @cachekit/serializers. Like them, it binds a
 * value to the additional data it is given: a digest of the data and the JSON follows the JSON,
 * so core's tests can tell a flipped frame bit or a moved value without depending on serializers.
 */
export function jsonTestCodec(maxBytes = Number.POSITIVE_INFINITY): Codec {
  return {
    name: 'test-json',
    encode(value, context) {
      const json = new TextEncoder().encode(JSON.stringify(value))
      if (json.byteLength > maxBytes) {
        throw new ValueTooLargeError(
          json.byteLength,
          maxBytes,
          `value is ${json.byteLength} bytes, over ${maxBytes}`,
        )
      }
      return Buffer.concat([json, digest(json, context)])
    },
    decode(bytes, context) {
      const json = bytes.subarray(0, bytes.byteLength - DIGEST_BYTES)
      if (bytes.byteLength < DIGEST_BYTES || !digest(json, context).equals(bytes.subarray(json.byteLength))) {
        throw new CodecDecodeError('the digest does not match')
      }
      try {
        return JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(json))
      } catch (error) {
        throw new CodecDecodeError('not JSON', { cause: error })
      }
    },
  }
}

function digest(json: Uint8Array, context: CodecContext | undefined): Buffer {
  const hash = createHash('sha256')
  for (const chunk of context?.additionalData ?? []) {
    // A string chunk stands for its UTF-8 bytes (CodecContext).
    const bytes = typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : chunk
    const length = Buffer.alloc(4)
    length.writeUInt32BE(bytes.byteLength)
    hash.update(length).update(bytes)
  }
  return hash.update(json).digest().subarray(0, DIGEST_BYTES)
}

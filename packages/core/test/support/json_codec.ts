import { type Codec, CodecDecodeError, ValueTooLargeError } from '../../src/index.js'

/** UTF-8 JSON for core's tests; real codecs live in @cachekit/serializers. */
export function jsonTestCodec(maxBytes = Number.POSITIVE_INFINITY): Codec {
  return {
    name: 'test-json',
    encode(value) {
      const bytes = new TextEncoder().encode(JSON.stringify(value))
      if (bytes.byteLength > maxBytes) {
        throw new ValueTooLargeError(
          bytes.byteLength,
          maxBytes,
          `value is ${bytes.byteLength} bytes, over ${maxBytes}`,
        )
      }
      return bytes
    },
    decode(bytes) {
      try {
        return JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes))
      } catch (error) {
        throw new CodecDecodeError('not JSON', { cause: error })
      }
    },
  }
}

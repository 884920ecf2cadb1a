/**
 * The Codec contract: how a remote tier turns values into bytes and back.
 *
 * Every encoded value starts with a small header naming its format (see `@cachekit/serializers`),
 * so a reader can decode bytes written by another codec chain it allows. A decoder that meets bytes
 * it cannot read, or may not read, throws a `CodecDecodeError` (code `E_CODEC_DECODE`); the cache
 * treats that as a miss and emits an error event, it never returns a wrong value.
 */
export interface Codec {
  /** A short name for the chain, e.g. `msgpack+lz4+aes256gcm`; used in errors and metrics. */
  readonly name: string
  /**
   * Encodes a value. Throws `CodecEncodeError` for values the chain cannot represent and
   * `ValueTooLargeError` for values above the size it would decode.
   */
  encode(value: unknown, context?: CodecContext): Uint8Array
  /** Decodes bytes produced by `encode` (of this chain, or of another chain this one allows). */
  decode(bytes: Uint8Array, context?: CodecContext): unknown
}

/**
 * What a value is bound to besides its own bytes. The cache passes the entry's frame (timing and
 * tags) and the store key, so a flipped bit in the frame, or a value copied under another key,
 * fails to decode instead of reading back as a hit.
 */
export interface CodecContext {
  /**
   * Bytes that are not part of the encoded value but must be the same when it is decoded, in
   * order. A codec covers them with its checksum, and an encrypting codec with its authenticated
   * additional data. Decoding with other bytes (or none, when there were some) fails. A string
   * stands for its UTF-8 bytes, so a key needs no buffer made for it: `'k'` and
   * `Buffer.from('k')` are the same additional data.
   */
  readonly additionalData?: readonly (Uint8Array | string)[]
}

/**
 * The Codec contract: how a remote tier turns values into bytes and back.
 *
 * Every encoded value starts with a small header naming its format (see `@cachekit/serializers`),
 * so a reader can decode bytes written by another codec chain. A decoder that meets bytes it
 * cannot read throws a `CodecDecodeError` (code `E_CODEC_DECODE`); the cache treats that as a miss
 * and emits an error event, it never returns a wrong value.
 */
export interface Codec {
  /** A short name for the chain, e.g. `msgpack+lz4+aes256gcm`; used in errors and metrics. */
  readonly name: string
  /** Encodes a value. Throws `CodecEncodeError` for values the chain cannot represent. */
  encode(value: unknown): Uint8Array
  /** Decodes bytes produced by `encode` (of this or another chain it understands). */
  decode(bytes: Uint8Array): unknown
}

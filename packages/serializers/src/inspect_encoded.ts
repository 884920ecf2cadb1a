import { FORMAT, parseHeader, STEP, serializerNameOf } from './header.js'
import type { SerializerName } from './serializer.js'

/** A transform step as recorded in a value's header. */
export type EncodedStep = { readonly name: 'lz4' } | { readonly name: 'aes256gcm'; readonly keyId: string }

/** What the header of an encoded value says. */
export interface EncodedInfo {
  /** Header format version (2). */
  readonly version: number
  /** The serializer that wrote the payload. */
  readonly serializer: SerializerName
  /** True when JSON or msgpack used their tagged format (the value holds Date, Map, BigInt, ...). */
  readonly tagged: boolean
  /** Transform steps actually applied, in order (lz4 is absent when it was skipped). */
  readonly transforms: readonly EncodedStep[]
  /** True when a CRC-32 ends the value (values whose last step is not aes256gcm). */
  readonly checksum: boolean
  /** Bytes before the payload: magic, format and steps. */
  readonly headerBytes: number
  /** Bytes of the payload, between the header and the checksum (for aes256gcm: IV, tag and ciphertext). */
  readonly payloadBytes: number
}

/**
 * Reads the header of an encoded value without decoding it (nor checking its checksum or tag), e.g.
 * to show how a Redis value was written.
 * @throws CodecDecodeError when the bytes do not start with a valid header.
 */
export function inspectEncoded(bytes: Uint8Array): EncodedInfo {
  const header = parseHeader(bytes)
  return {
    version: header.version,
    serializer: serializerNameOf(header.format),
    tagged: header.format === FORMAT.jsonTagged || header.format === FORMAT.msgpackTagged,
    transforms: header.steps.map(
      (step): EncodedStep =>
        step.id === STEP.lz4 ? { name: 'lz4' } : { name: 'aes256gcm', keyId: step.keyId },
    ),
    checksum: header.checksum,
    headerBytes: header.bodyOffset,
    payloadBytes: header.bodyEnd - header.bodyOffset,
  }
}

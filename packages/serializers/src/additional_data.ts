import type { CodecContext } from '@cachekit/core'
import { crc32, crc32Word } from './checksum.js'

/**
 * Additional data: bytes a value is bound to without carrying them (the cache passes the store key
 * and the entry frame). Both the CRC-32 and the AES-GCM additional authenticated data see them as
 *
 * ```
 * header  u32 LE length(chunk 1)  chunk 1  u32 LE length(chunk 2)  chunk 2  ...
 * ```
 *
 * (the CRC then goes on over the payload). The length before each chunk keeps the boundaries fixed:
 * `['ab', 'c']` and `['a', 'bc']` are different streams, and so are `[]` and `['']`. The header
 * delimits itself, so the whole stream parses one way only. With no chunks the stream is the header
 * alone, which is what values written without additional data were checked against.
 */

const NONE: readonly Uint8Array[] = []
const MAX_CHUNK_BYTES = 0xffff_ffff

/**
 * The chunks of `context`, checked; an empty list when there are none. `fail` builds the error for
 * a malformed context (the encoder and the decoder each throw their own kind).
 */
export function chunksOf(
  context: CodecContext | undefined,
  fail: (reason: string) => Error,
): readonly Uint8Array[] {
  if (context === undefined) return NONE
  if (typeof context !== 'object' || context === null) throw fail('the codec context must be an object')
  const chunks = context.additionalData
  if (chunks === undefined) return NONE
  if (!Array.isArray(chunks)) throw fail('additionalData must be an array of Uint8Array')
  for (let i = 0; i < chunks.length; i++) {
    const chunk: unknown = chunks[i]
    if (!(chunk instanceof Uint8Array)) throw fail(`additionalData[${i}] is not a Uint8Array`)
    if (chunk.length > MAX_CHUNK_BYTES) throw fail(`additionalData[${i}] is longer than a u32 length can say`)
  }
  return chunks
}

/** `crc` continued over each chunk with its length before it. */
export function crcOfChunks(crc: number, chunks: readonly Uint8Array[]): number {
  for (const chunk of chunks) crc = crc32(chunk, crc32Word(chunk.length, crc))
  return crc
}

/**
 * The AES-GCM additional authenticated data: `header` itself when there are no chunks (no copy),
 * else one buffer of the header and the length-delimited chunks. One `setAAD` call on a small buffer
 * costs less than one call per piece (measured), though GCM would accept several.
 */
export function aadOf(header: Uint8Array, chunks: readonly Uint8Array[]): Uint8Array {
  if (chunks.length === 0) return header
  let length = header.length
  for (const chunk of chunks) length += 4 + chunk.length
  const aad = Buffer.allocUnsafe(length)
  aad.set(header, 0)
  let offset = header.length
  for (const chunk of chunks) {
    aad.writeUInt32LE(chunk.length, offset)
    aad.set(chunk, offset + 4)
    offset += 4 + chunk.length
  }
  return aad
}

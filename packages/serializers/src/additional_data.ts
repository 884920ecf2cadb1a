import type { CodecContext } from '@cachekit/core'
import { crc32, crc32Ascii, crc32Word } from './checksum.js'

/**
 * Additional data: what a value is bound to without carrying it (the cache passes the store key, as
 * a string, and the entry frame, as bytes). A string chunk stands for its UTF-8 bytes. The CRC-32
 * covers the stream
 *
 * ```
 * u32 LE count  (u32 LE length(chunk)  chunk)*  header  payload
 * ```
 *
 * and the AES-GCM additional authenticated data is `header (u32 LE length(chunk) chunk)*`. The count
 * and the length before each chunk keep the boundaries fixed: `['ab', 'c']` and `['a', 'bc']` are
 * different streams, and so are `[]` and `['']`. The header delimits itself, so the whole stream
 * parses one way only.
 *
 * Why the header comes after the chunks in the CRC stream: the cache stores the entry frame (the last
 * chunk) right before the codec's bytes, in the same buffer, so the frame, header and payload are
 * one native CRC call, and a short key is checksummed here in JS with no buffer made for it. On an
 * L2 hit that is one `zlib.crc32` call instead of four, plus no `Buffer.from(key)` (measured: about
 * 0.5 µs of a 2 µs decode).
 */

/** A chunk of additional data: bytes, or a string standing for its UTF-8 bytes. */
export type Chunk = Uint8Array | string

const NONE: readonly Chunk[] = []
const MAX_CHUNK_BYTES = 0xffff_ffff
/** Strings up to this many UTF-16 units are checksummed in JS; longer ones by zlib (measured break-even). */
const JS_CRC_MAX_CHARS = 64

/**
 * The chunks of `context`, checked; an empty list when there are none. `fail` builds the error for
 * a malformed context (the encoder and the decoder each throw their own kind).
 */
export function chunksOf(
  context: CodecContext | undefined,
  fail: (reason: string) => Error,
): readonly Chunk[] {
  if (context === undefined) return NONE
  if (typeof context !== 'object' || context === null) throw fail('the codec context must be an object')
  const chunks = context.additionalData
  if (chunks === undefined) return NONE
  if (!Array.isArray(chunks)) throw fail('additionalData must be an array of Uint8Array or string')
  for (let i = 0; i < chunks.length; i++) {
    const chunk: unknown = chunks[i]
    if (typeof chunk === 'string') continue
    if (!(chunk instanceof Uint8Array)) throw fail(`additionalData[${i}] is not a Uint8Array or a string`)
    if (chunk.length > MAX_CHUNK_BYTES) throw fail(`additionalData[${i}] is longer than a u32 length can say`)
  }
  return chunks
}

/**
 * The CRC-32 of the stream above for `chunks` followed by the first `end` bytes of `value` (its
 * header and payload, without the stored checksum). When the last chunk sits right before `value`
 * in the same memory, as the cache's entry frame does, both go through one native call.
 */
export function checksumOf(chunks: readonly Chunk[], value: Uint8Array, end: number): number {
  let crc = crc32Word(chunks.length, 0)
  const last = chunks.length - 1
  for (let i = 0; i <= last; i++) {
    const chunk = chunks[i]!
    if (typeof chunk === 'string') {
      crc = crc32OfText(chunk, crc)
      continue
    }
    crc = crc32Word(chunk.length, crc)
    if (i === last && adjoins(chunk, value)) {
      return crc32(new Uint8Array(value.buffer, chunk.byteOffset, chunk.length + end), crc)
    }
    crc = crc32(chunk, crc)
  }
  return crc32(end === value.length ? value : value.subarray(0, end), crc)
}

function adjoins(before: Uint8Array, after: Uint8Array): boolean {
  return before.buffer === after.buffer && before.byteOffset + before.length === after.byteOffset
}

/** `crc` continued over the u32 LE UTF-8 length of `text`, then its UTF-8 bytes. */
function crc32OfText(text: string, crc: number): number {
  if (text.length <= JS_CRC_MAX_CHARS && isAscii(text)) {
    return crc32Ascii(text, crc32Word(text.length, crc))
  }
  return crc32(Buffer.from(text, 'utf8'), crc32Word(Buffer.byteLength(text, 'utf8'), crc))
}

function isAscii(text: string): boolean {
  for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) > 0x7f) return false
  return true
}

/** Byte length of a chunk as the stream counts it. */
function byteLengthOf(chunk: Chunk): number {
  return typeof chunk === 'string' ? Buffer.byteLength(chunk, 'utf8') : chunk.length
}

/**
 * The AES-GCM additional authenticated data: `header` itself when there are no chunks (no copy),
 * else one buffer of the header and the length-delimited chunks. One `setAAD` call on a small buffer
 * costs less than one call per piece (measured), though GCM would accept several.
 */
export function aadOf(header: Uint8Array, chunks: readonly Chunk[]): Uint8Array {
  if (chunks.length === 0) return header
  let length = header.length
  for (const chunk of chunks) length += 4 + byteLengthOf(chunk)
  const aad = Buffer.allocUnsafe(length)
  aad.set(header, 0)
  let offset = header.length
  for (const chunk of chunks) {
    const size = byteLengthOf(chunk)
    aad.writeUInt32LE(size, offset)
    if (typeof chunk === 'string') aad.write(chunk, offset + 4, 'utf8')
    else aad.set(chunk, offset + 4)
    offset += 4 + size
  }
  return aad
}

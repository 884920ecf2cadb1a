import type { Codec } from './codec.js'
import type { CacheEntry } from './entry.js'
import { CodecDecodeError, InvalidOptionError } from './errors.js'

/**
 * The byte layout of an entry in a remote store. The timing and tags sit in a fixed little-endian
 * frame in front of the codec's bytes, so the tag sweeper judges entries without decoding them:
 *
 * ```
 * 0      1        2            10           18               26          28
 * | 0xCE | ver=2  | createdAt  | expiresAt  | hardExpiresAt  | tagCount  | (u16 len + utf8 tag)* | value bytes
 *                  f64 LE       f64 LE       f64 LE           u16 LE
 * ```
 *
 * The frame and the store key are the codec's additional data (`CodecContext`): covered by its
 * checksum, and with encryption by the AES-GCM tag. A flipped bit in the frame (a longer life,
 * other tags) or a value copied under another key fails to decode instead of reading as a hit.
 * Version 1 frames (before that binding) read as `E_CODEC_DECODE`, a miss.
 */
const MAGIC = 0xce
const VERSION = 2
const FIXED_BYTES = 28
const MAX_TAGS = 0xffff
const MAX_TAG_BYTES = 0xffff
const NO_TAG_BYTES: readonly Buffer[] = []

/** An entry's frame without its value. */
export type EntryHeader = Omit<CacheEntry, 'value'>

/**
 * Frames an entry stored under `storeKey`: its timing and tags, then the codec's bytes of its
 * value, bound to both.
 */
export function encodeEntry(entry: CacheEntry, codec: Codec, storeKey: string): Uint8Array {
  const tagBytes = entry.tags.length === 0 ? NO_TAG_BYTES : entry.tags.map((tag) => Buffer.from(tag, 'utf8'))
  if (tagBytes.length > MAX_TAGS)
    throw new InvalidOptionError(`[cachekit/core] an entry has at most ${MAX_TAGS} tags`)
  let headerSize = FIXED_BYTES
  for (const tag of tagBytes) {
    if (tag.byteLength > MAX_TAG_BYTES)
      throw new InvalidOptionError('[cachekit/core] a tag is at most 65535 bytes')
    headerSize += 2 + tag.byteLength
  }
  const header = Buffer.allocUnsafe(headerSize)
  writeHeader(header, entry, tagBytes)
  const valueBytes = codec.encode(entry.value, { additionalData: [storeKey, header] })
  const frame = Buffer.allocUnsafe(headerSize + valueBytes.byteLength)
  frame.set(header, 0)
  frame.set(valueBytes, headerSize)
  return frame
}

function writeHeader(frame: Buffer, entry: CacheEntry, tagBytes: readonly Buffer[]): void {
  frame[0] = MAGIC
  frame[1] = VERSION
  frame.writeDoubleLE(entry.createdAt, 2)
  frame.writeDoubleLE(entry.expiresAt, 10)
  frame.writeDoubleLE(entry.hardExpiresAt, 18)
  frame.writeUInt16LE(tagBytes.length, 26)
  let offset = FIXED_BYTES
  for (const tag of tagBytes) {
    frame.writeUInt16LE(tag.byteLength, offset)
    frame.set(tag, offset + 2)
    offset += 2 + tag.byteLength
  }
}

/**
 * Reads back a framed entry stored under `storeKey`.
 * @throws CodecDecodeError when the frame or the value bytes are not valid, or were written for
 * another key.
 */
export function decodeEntry<T = unknown>(bytes: Uint8Array, codec: Codec, storeKey: string): CacheEntry<T> {
  const { header, valueOffset } = readFrame(bytes)
  let value: unknown
  try {
    // The frame is passed as a view of the same buffer, right before the value: a codec may then
    // checksum both in one pass (the msgpack and JSON codecs of @cachekit/serializers do).
    value = codec.decode(bytes.subarray(valueOffset), {
      additionalData: [storeKey, bytes.subarray(0, valueOffset)],
    })
  } catch (error) {
    if (error instanceof CodecDecodeError) throw error
    throw new CodecDecodeError(`[cachekit/core] the value of an entry did not decode with ${codec.name}`, {
      cause: error,
    })
  }
  // A literal, not `{ ...header, value }`: the spread costs ~0.8 µs per read on V8 (measured in
  // tooling/bench), which is most of what separates an L2 hit from a raw GET + decode.
  return {
    value: value as T,
    createdAt: header.createdAt,
    expiresAt: header.expiresAt,
    hardExpiresAt: header.hardExpiresAt,
    tags: header.tags,
  }
}

/**
 * Reads only the timing and tags of a framed entry, unchecked: the checksum covering them is the
 * codec's, so only `decodeEntry` can tell a flipped bit. Good for judging what to sweep (a wrong
 * answer costs a miss or a later sweep), never for answering a read.
 * @throws CodecDecodeError when the frame is not valid.
 */
export function decodeEntryHeader(bytes: Uint8Array): EntryHeader {
  return readFrame(bytes).header
}

function readFrame(bytes: Uint8Array): { header: EntryHeader; valueOffset: number } {
  if (bytes.byteLength < FIXED_BYTES || bytes[0] !== MAGIC) {
    throw new CodecDecodeError('[cachekit/core] bytes are not a cachekit entry')
  }
  if (bytes[1] !== VERSION) {
    throw new CodecDecodeError(`[cachekit/core] unknown entry frame version ${bytes[1]}`)
  }
  // Redis clients hand over Buffers already; only a plain Uint8Array needs a Buffer view.
  const view = Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  const createdAt = view.readDoubleLE(2)
  const expiresAt = view.readDoubleLE(10)
  const hardExpiresAt = view.readDoubleLE(18)
  if (!Number.isFinite(createdAt) || Number.isNaN(expiresAt) || !(hardExpiresAt >= expiresAt)) {
    throw new CodecDecodeError('[cachekit/core] entry frame has invalid timing')
  }
  const tagCount = view.readUInt16LE(26)
  const tags: string[] = []
  let offset = FIXED_BYTES
  for (let i = 0; i < tagCount; i++) {
    if (offset + 2 > view.byteLength) throw new CodecDecodeError('[cachekit/core] entry frame is truncated')
    const length = view.readUInt16LE(offset)
    offset += 2
    if (offset + length > view.byteLength)
      throw new CodecDecodeError('[cachekit/core] entry frame is truncated')
    tags.push(view.toString('utf8', offset, offset + length))
    offset += length
  }
  return { header: { createdAt, expiresAt, hardExpiresAt, tags }, valueOffset: offset }
}

import * as zlib from 'node:zlib'

/**
 * CRC-32 (the zlib / IEEE polynomial) of `bytes`, continuing from `previous`.
 *
 * Unencrypted values carry it in their header, because a flipped bit in a msgpack or JSON payload can
 * still decode to a different, valid value. `zlib.crc32` is native (Node >= 20.15) and costs well under
 * a microsecond per KiB; the table fallback keeps older Node 20 releases working with identical output.
 */
// Read once: the CommonJS build reaches `zlib.crc32` through an interop getter on every access.
const native = zlib.crc32 as ((bytes: Uint8Array, previous?: number) => number) | undefined

// An empty view whose ArrayBuffer has no memory behind it makes zlib.crc32 restart from 0 instead
// of continuing `previous`: that would drop every chunk before an empty last one from the checksum.
export const crc32: (bytes: Uint8Array, previous?: number) => number =
  typeof native === 'function'
    ? (bytes, previous = 0) => (bytes.length === 0 ? previous : native(bytes, previous))
    : crc32Table

let table: Uint32Array | undefined

function lookup(): Uint32Array {
  if (table === undefined) {
    table = new Uint32Array(256)
    for (let n = 0; n < 256; n++) {
      let c = n
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1
      table[n] = c >>> 0
    }
  }
  return table
}

/** The portable implementation; exported for the test that holds it equal to `zlib.crc32`. */
export function crc32Table(bytes: Uint8Array, previous = 0): number {
  const t = lookup()
  let crc = ~previous >>> 0
  for (let i = 0; i < bytes.length; i++) crc = t[(crc ^ bytes[i]!) & 0xff]! ^ (crc >>> 8)
  return ~crc >>> 0
}

/**
 * The CRC-32 continued over `value` as a u32 little-endian word: the same as `crc32` of those four
 * bytes, without a buffer or a native call (four table steps cost less than crossing into zlib).
 */
export function crc32Word(value: number, previous: number): number {
  const t = lookup()
  let crc = ~previous >>> 0
  crc = t[(crc ^ value) & 0xff]! ^ (crc >>> 8)
  crc = t[(crc ^ (value >>> 8)) & 0xff]! ^ (crc >>> 8)
  crc = t[(crc ^ (value >>> 16)) & 0xff]! ^ (crc >>> 8)
  crc = t[(crc ^ (value >>> 24)) & 0xff]! ^ (crc >>> 8)
  return ~crc >>> 0
}

/**
 * The CRC-32 continued over the characters of `text`, each taken as one byte: the UTF-8 bytes of an
 * ASCII string, without making them (callers check that it is ASCII).
 */
export function crc32Ascii(text: string, previous: number): number {
  const t = lookup()
  let crc = ~previous >>> 0
  for (let i = 0; i < text.length; i++) crc = t[(crc ^ text.charCodeAt(i)) & 0xff]! ^ (crc >>> 8)
  return ~crc >>> 0
}

import { Packr } from 'msgpackr'
import { FORMAT, type FormatId } from './header.js'
import { needsMapTags, tagMaps, untagMaps } from './msgpack_tags.js'
import { defineSerializer, type Serializer } from './serializer.js'

const options = {
  // Record structures live in the writing Packr; another process could not read them.
  useRecords: false,
  mapsAsObjects: true,
  // Set, Error, RegExp, typed arrays (raw bytes, so floats are bit-exact), ArrayBuffer, DataView,
  // BigInt beyond 64 bits.
  moreTypes: true,
  useBigIntExtension: true,
  // Decoded Buffers get their own memory instead of pinning (and aliasing) the input.
  copyBuffers: true,
} as const

// One Packr for the process: msgpackr is much faster when its instance (and its buffer) is reused.
const packr = new Packr(options)
// Writes every object as a map16, which caps an object at 65,535 keys. This one sizes each map and
// has no cap, but packs ~12% slower (measured), so it only takes the values the first one refuses.
// Both write standard MessagePack maps; the same unpacker reads either.
const largeObjectPackr = new Packr({ ...options, variableMapSize: true })
const LARGE_OBJECT = /too large to serialize with fast 16-bit map size/

function pack(value: unknown): Uint8Array {
  try {
    return packr.pack(value)
  } catch (error) {
    if (error instanceof Error && LARGE_OBJECT.test(error.message)) return largeObjectPackr.pack(value)
    throw error
  }
}

const msgpack = defineSerializer({
  name: 'msgpack',
  serialize(value) {
    if (!needsMapTags(value)) return { format: FORMAT.msgpack, bytes: pack(value) }
    return { format: FORMAT.msgpackTagged, bytes: pack(tagMaps(value)) }
  },
  deserialize(bytes: Uint8Array, format: FormatId) {
    const value: unknown = packr.unpack(bytes)
    return format === FORMAT.msgpackTagged ? untagMaps(value) : value
  },
})

/**
 * MessagePack through msgpackr, set up for a cache shared by processes: no record structures,
 * `Date`, `Map` (any keys), `Set`, `BigInt`, typed arrays, `Buffer`, `RegExp`, `Error`, `undefined`,
 * `NaN`, `±Infinity`. The default serializer: compact and fast. See the README for the exact table.
 */
export function msgpackSerializer(): Serializer {
  return msgpack
}

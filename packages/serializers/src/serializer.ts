import type { FormatId } from './header.js'

/** Names of the built-in serializers. */
export type SerializerName = 'json' | 'msgpack' | 'v8'

// Only this package makes serializers: a reader must know every wire format it may meet, so a
// serializer is one of a closed set, picked by the header's format id when decoding.
declare const serializerBrand: unique symbol

/** Turns values into bytes: made by `jsonSerializer()`, `msgpackSerializer()` or `v8Serializer()`. */
export interface Serializer {
  /** `json`, `msgpack` or `v8`. */
  readonly name: SerializerName
  /** Marks serializers made by this package; a codec only accepts those. */
  readonly [serializerBrand]: true
}

/** Bytes plus the wire format they are in (JSON and msgpack have a plain and a tagged format). */
export interface SerializedValue {
  readonly format: FormatId
  readonly bytes: Uint8Array
}

/** What a serializer does, inside the package. */
export interface SerializerImpl {
  readonly name: SerializerName
  serialize(value: unknown): SerializedValue
  deserialize(bytes: Uint8Array, format: FormatId): unknown
}

// The implementation hangs off the handle under a registered symbol rather than in a module-local
// WeakMap, so a handle made by another copy of this package (an app that both imports and requires
// it) is still recognised.
const IMPL = Symbol.for('cachekit.serializers.serializer')

/** Wraps an implementation into the public, branded handle. */
export function defineSerializer(impl: SerializerImpl): Serializer {
  const handle = { name: impl.name }
  Object.defineProperty(handle, IMPL, { value: impl })
  return Object.freeze(handle) as unknown as Serializer
}

/** The implementation behind a handle made by this package, or undefined for anything else. */
export function serializerImpl(serializer: unknown): SerializerImpl | undefined {
  if (typeof serializer !== 'object' || serializer === null) return undefined
  const impl = (serializer as { [IMPL]?: Partial<SerializerImpl> })[IMPL]
  return typeof impl?.serialize === 'function' && typeof impl.deserialize === 'function'
    ? (impl as SerializerImpl)
    : undefined
}

/** Bytes as a Buffer view (no copy), for APIs that want a Buffer. */
export function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)
}

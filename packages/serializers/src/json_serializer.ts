import { FORMAT, type FormatId } from './header.js'
import { needsTags, tagReplacer, UNDEFINED_TEXT, untag } from './json_tags.js'
import { checkTaggedJsonDepth } from './nesting_depth.js'
import { asBuffer, defineSerializer, type Serializer } from './serializer.js'

const json = defineSerializer({
  name: 'json',
  serialize(value) {
    // Fast path: plain data is bare JSON, decoded later by a bare JSON.parse.
    if (value !== undefined && !needsTags(value)) {
      const text = JSON.stringify(value)
      if (text !== undefined) return { format: FORMAT.json, bytes: Buffer.from(text, 'utf8') }
    }
    checkTaggedJsonDepth(value)
    const text = value === undefined ? UNDEFINED_TEXT : JSON.stringify(value, tagReplacer)
    if (text === undefined) throw new TypeError(`JSON has no representation for a top-level ${typeof value}`)
    return { format: FORMAT.jsonTagged, bytes: Buffer.from(text, 'utf8') }
  },
  deserialize(bytes: Uint8Array, format: FormatId) {
    const parsed: unknown = JSON.parse(asBuffer(bytes).toString('utf8'))
    return format === FORMAT.jsonTagged ? untag(parsed) : parsed
  },
})

/**
 * JSON, extended with type tags so that `Date`, `Map`, `Set`, `BigInt`, `Buffer`, typed arrays,
 * `ArrayBuffer`, `DataView`, `NaN`, `±Infinity`, `-0` and a top-level `undefined` round-trip. Values
 * that contain none of those are written as bare JSON and cost about what `JSON.stringify` /
 * `JSON.parse` cost. Readable by any language; see the README for the exact type table.
 */
export function jsonSerializer(): Serializer {
  return json
}

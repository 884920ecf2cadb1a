import * as v8 from 'node:v8'
import { FORMAT } from './header.js'
import { checkV8Depth } from './nesting_depth.js'
import { defineSerializer, type Serializer } from './serializer.js'

const v8Format = defineSerializer({
  name: 'v8',
  serialize(value) {
    // v8 writes deeper values than it reads back (see nesting_depth.ts), so the depth is checked first.
    checkV8Depth(value)
    return { format: FORMAT.v8, bytes: v8.serialize(value) }
  },
  deserialize(bytes: Uint8Array) {
    // Copy into memory of its own (not Node's shared Buffer pool): v8.deserialize hands out typed
    // arrays that are views of its input when aligned, and the input may be the caller's buffer.
    return v8.deserialize(Uint8Array.prototype.slice.call(bytes))
  },
})

/**
 * `node:v8` serialize / deserialize, the structured clone algorithm (Node's pickle): round-trips most
 * structured-clone types, cycles and shared references included. Node-only, and a newer Node may write
 * what an older one cannot read, so mixed fleets should not use it. Never picked by default.
 *
 * For trusted data only: decoding runs `v8.deserialize`, which builds any structured-clone object
 * graph the bytes describe. A codec reads v8 values only when it writes them or lists `v8Serializer()`
 * in `accept`; without encryption, whoever can write to Redis chooses those bytes.
 */
export function v8Serializer(): Serializer {
  return v8Format
}

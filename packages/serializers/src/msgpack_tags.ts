import { types } from 'node:util'
import { C1 } from 'msgpackr'
import { MAX_DEPTH, NestingTooDeep } from './nesting_depth.js'

/**
 * Map tagging for msgpack. With `useRecords: false` msgpackr writes a plain object and a `Map` as the
 * same MessagePack map, so a `Map` would come back as an object (or fail on non-string keys). A value
 * that holds a Map is therefore written in the tagged format, where a Map is the array
 * `[C1, 0, k1, v1, k2, v2, ...]`. C1 is msgpackr's value for the byte 0xC1, which no MessagePack writer
 * emits for data; a user array that happens to start with it is escaped as `[C1, 1, ...array]`.
 */
const MAP = 0
const ESCAPED_ARRAY = 1

/** Built-ins msgpackr writes with an extension of its own (their contents need no walk). */
function isExtensionBuiltin(value: object): boolean {
  return (
    types.isDate(value) ||
    types.isRegExp(value) ||
    types.isNativeError(value) ||
    value instanceof Error ||
    types.isAnyArrayBuffer(value) ||
    ArrayBuffer.isView(value) ||
    value === C1
  )
}

function hasUserToJSON(value: object): boolean {
  const proto = Object.getPrototypeOf(value)
  return (
    proto !== Object.prototype &&
    proto !== null &&
    typeof (value as { toJSON?: unknown }).toJSON === 'function'
  )
}

/**
 * True when `value` holds a Map, or an array starting with C1, anywhere msgpackr would look. `level` is
 * the nesting level of `value` (1 at the top): the walk also enforces `MAX_DEPTH`, which costs one
 * comparison per container on a walk the encoder makes anyway.
 * @throws NestingTooDeep when the value nests deeper than `MAX_DEPTH`.
 */
export function needsMapTags(value: unknown, level = 1): boolean {
  if (typeof value !== 'object' || value === null) return false
  if (level > MAX_DEPTH) throw new NestingTooDeep()
  if (Array.isArray(value)) {
    if (value.length > 0 && value[0] === C1) return true
    for (let i = 0; i < value.length; i++) if (needsMapTags(value[i], level + 1)) return true
    return false
  }
  const proto = Object.getPrototypeOf(value)
  if (proto !== Object.prototype && proto !== null) {
    if (types.isMap(value)) return true
    if (types.isSet(value)) {
      // msgpackr writes a Set as an extension around an array: two levels.
      for (const item of value as Set<unknown>) if (needsMapTags(item, level + 2)) return true
      return false
    }
    if (isExtensionBuiltin(value)) return false
    // msgpackr writes a class instance as what its toJSON returns; the tagging pass calls it once.
    if (hasUserToJSON(value)) return true
  }
  const record = value as Record<string, unknown>
  for (const key in record) if (needsMapTags(record[key], level + 1)) return true
  return false
}

/**
 * A copy of `value` in which every Map is tagged, for msgpackr to write. Enforces `MAX_DEPTH` like
 * `needsMapTags`, which stops at the first Map and so does not see below it.
 * @throws NestingTooDeep when the value nests deeper than `MAX_DEPTH`.
 */
export function tagMaps(value: unknown, level = 1): unknown {
  if (typeof value !== 'object' || value === null) return value
  if (level > MAX_DEPTH) throw new NestingTooDeep()
  const next = level + 1
  if (Array.isArray(value)) {
    const out: unknown[] = new Array(value.length)
    for (let i = 0; i < value.length; i++) out[i] = tagMaps(value[i], next)
    return value.length > 0 && value[0] === C1 ? [C1, ESCAPED_ARRAY, ...out] : out
  }
  if (types.isMap(value)) {
    const out: unknown[] = [C1, MAP]
    for (const [key, item] of value as Map<unknown, unknown>)
      out.push(tagMaps(key, next), tagMaps(item, next))
    return out
  }
  if (types.isSet(value)) {
    const out = new Set<unknown>()
    for (const item of value as Set<unknown>) out.add(tagMaps(item, level + 2))
    return out
  }
  if (isExtensionBuiltin(value)) return value
  // The object toJSON returns takes the place of this one, at the same level.
  if (hasUserToJSON(value)) return tagMaps((value as { toJSON(): unknown }).toJSON(), level)
  // Keep the kind of prototype: msgpackr treats a null-prototype object slightly differently.
  const source = value as Record<string, unknown>
  const out: Record<string, unknown> = Object.getPrototypeOf(value) === null ? Object.create(null) : {}
  for (const key of Object.keys(source)) {
    const item = tagMaps(source[key], next)
    if (key === '__proto__') {
      Object.defineProperty(out, key, { value: item, writable: true, enumerable: true, configurable: true })
    } else {
      out[key] = item
    }
  }
  return out
}

/** Undoes `tagMaps` on freshly unpacked data, in place where it can. */
export function untagMaps(value: unknown): unknown {
  if (typeof value !== 'object' || value === null) return value
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const item: unknown = value[i]
      if (typeof item === 'object' && item !== null && item !== C1) value[i] = untagMaps(item)
    }
    if (value.length === 0 || value[0] !== C1) return value
    if (value[1] === ESCAPED_ARRAY) return value.slice(2)
    if (value[1] !== MAP || value.length % 2 !== 0) throw new TypeError('msgpack: invalid C1 tag')
    const map = new Map<unknown, unknown>()
    for (let i = 2; i < value.length; i += 2) map.set(value[i], value[i + 1])
    return map
  }
  if (value instanceof Set) {
    const out = new Set<unknown>()
    for (const item of value) out.add(untagMaps(item))
    return out
  }
  const proto = Object.getPrototypeOf(value)
  if (proto !== Object.prototype && proto !== null) return value
  const record = value as Record<string, unknown>
  for (const key of Object.keys(record)) {
    const item = record[key]
    if (typeof item === 'object' && item !== null) {
      const revived = untagMaps(item)
      if (revived !== item) record[key] = revived
    }
  }
  return record
}

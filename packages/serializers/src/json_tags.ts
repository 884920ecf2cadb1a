import { types } from 'node:util'
import { MAX_DEPTH, NestingTooDeep } from './nesting_depth.js'

/**
 * The tagged JSON format: plain JSON in which the values JSON cannot carry are objects
 * `{"$t": <tag>, "v": <payload>}`. A user object that has a key made of dollars and a final `t`
 * (`$t`, `$$t`, ...) gets one more dollar on the way out and loses it on the way in, so `$t` only ever
 * marks a tag. Only values that need it are written this way (see `needsTags`): everything else is
 * bare `JSON.stringify` output and decodes with a bare `JSON.parse`.
 */
const TAG = '$t'

type TypedArrayConstructor =
  | Int8ArrayConstructor
  | Uint8ArrayConstructor
  | Uint8ClampedArrayConstructor
  | Int16ArrayConstructor
  | Uint16ArrayConstructor
  | Int32ArrayConstructor
  | Uint32ArrayConstructor
  | Float32ArrayConstructor
  | Float64ArrayConstructor
  | BigInt64ArrayConstructor
  | BigUint64ArrayConstructor

// Tags of the byte-carrying types; the payload is the base64 of the bytes, so floats are bit-exact.
const typedArrayTags: Record<string, [tag: string, ctor: TypedArrayConstructor]> = {
  Int8Array: ['i8', Int8Array],
  Uint8Array: ['u8', Uint8Array],
  Uint8ClampedArray: ['u8c', Uint8ClampedArray],
  Int16Array: ['i16', Int16Array],
  Uint16Array: ['u16', Uint16Array],
  Int32Array: ['i32', Int32Array],
  Uint32Array: ['u32', Uint32Array],
  Float32Array: ['f32', Float32Array],
  Float64Array: ['f64', Float64Array],
  BigInt64Array: ['i64', BigInt64Array],
  BigUint64Array: ['u64', BigUint64Array],
}
const typedArrayByTag = new Map(Object.values(typedArrayTags))

/** True for the numbers JSON turns into `null` or `0`. */
function isSpecialNumber(value: number): boolean {
  return !Number.isFinite(value) || (value === 0 && 1 / value < 0)
}

/** True for objects whose own enumerable properties are all that JSON writes. */
function isPlainish(value: object): boolean {
  const proto = Object.getPrototypeOf(value)
  if (proto === Object.prototype || proto === null) return true
  // A class instance is written like a plain object unless it is a built-in we tag or has a toJSON
  // (which could return anything, so the tagging path looks at what it returns).
  return !(
    types.isDate(value) ||
    types.isMap(value) ||
    types.isSet(value) ||
    types.isAnyArrayBuffer(value) ||
    ArrayBuffer.isView(value) ||
    typeof (value as { toJSON?: unknown }).toJSON === 'function'
  )
}

/**
 * True when `value` holds something bare JSON would lose. A walk that only reads is several times
 * cheaper than a `JSON.stringify` replacer, so the common plain-data case pays the walk and a bare
 * `JSON.stringify`; only values that need tags pay for the replacer. `level` is the nesting level of
 * `value` (1 at the top): a plain value is walked whole, so this walk also enforces `MAX_DEPTH` for
 * it (one comparison per container). A value that needs tags is measured by the tagged path.
 * @throws NestingTooDeep when a plain value nests deeper than `MAX_DEPTH`.
 */
export function needsTags(value: unknown, level = 1): boolean {
  switch (typeof value) {
    case 'number':
      return isSpecialNumber(value)
    case 'bigint':
    case 'function': // only an own `toJSON` would matter; functions are rare, so look closer on the slow path
      return true
    case 'object': {
      if (value === null) return false
      if (level > MAX_DEPTH) throw new NestingTooDeep()
      if (Array.isArray(value)) {
        for (let i = 0; i < value.length; i++) if (needsTags(value[i], level + 1)) return true
        return false
      }
      if (!isPlainish(value)) return true
      const record = value as Record<string, unknown>
      for (const key in record) if (needsTags(record[key], level + 1)) return true
      return false
    }
    default:
      return false
  }
}

function isTagLikeKey(key: string, minDollars: number): boolean {
  const last = key.length - 1
  if (last < minDollars || key.charCodeAt(last) !== 116 /* t */) return false
  for (let i = 0; i < last; i++) if (key.charCodeAt(i) !== 36 /* $ */) return false
  return true
}

function base64Of(view: ArrayBufferView | ArrayBuffer): string {
  return ArrayBuffer.isView(view)
    ? Buffer.from(view.buffer, view.byteOffset, view.byteLength).toString('base64')
    : Buffer.from(view).toString('base64')
}

// Inside a Map or Set, `undefined` is data (`map.get(k)` differs from a missing key), so it is kept
// as a tag instead of turning into `null` the way it does in an array.
// The replacer meets this object as an element of the entries array, so it must know it is ours.
const UNDEFINED_TAG = Object.freeze({ [TAG]: 'U' })
function keepUndefined(value: unknown): unknown {
  return value === undefined ? UNDEFINED_TAG : value
}

function tagDate(date: Date): object {
  const time = date.getTime()
  return { [TAG]: 'D', v: Number.isNaN(time) ? null : time }
}

function tagObject(value: object): unknown {
  if (Array.isArray(value)) return value
  if (types.isDate(value)) return tagDate(value)
  if (types.isMap(value)) {
    const entries: unknown[] = []
    for (const [key, item] of value as Map<unknown, unknown>)
      entries.push([keepUndefined(key), keepUndefined(item)])
    return { [TAG]: 'M', v: entries }
  }
  if (types.isSet(value)) return { [TAG]: 'S', v: Array.from(value as Set<unknown>, keepUndefined) }
  if (ArrayBuffer.isView(value)) {
    if (Buffer.isBuffer(value)) return { [TAG]: 'B', v: base64Of(value) }
    if (types.isDataView(value)) return { [TAG]: 'dv', v: base64Of(value) }
    const entry = typedArrayTags[(value as Uint8Array)[Symbol.toStringTag]]
    if (entry !== undefined) return { [TAG]: entry[0], v: base64Of(value) }
    return value
  }
  if (types.isArrayBuffer(value)) return { [TAG]: 'ab', v: base64Of(value) }
  return escapeKeys(value as Record<string, unknown>)
}

function escapeKeys(value: Record<string, unknown>): Record<string, unknown> {
  const keys = Object.keys(value)
  let found = false
  for (const key of keys) {
    if (isTagLikeKey(key, 1)) {
      found = true
      break
    }
  }
  if (!found) return value
  // A null-prototype copy, so an own `__proto__` key stays a key. JSON.stringify then calls the
  // replacer with this copy as the holder, and its values are still the originals.
  const copy: Record<string, unknown> = Object.create(null)
  for (const key of keys) copy[isTagLikeKey(key, 1) ? `$${key}` : key] = value[key]
  return copy
}

/**
 * The `JSON.stringify` replacer of the tagged format. `this` is the holder: `this[key]` is the value
 * before `toJSON` ran, which is how a Date or a Buffer is recognised (their `toJSON` has already
 * turned `value` into a string or a `{type, data}` object).
 */
export function tagReplacer(this: unknown, key: string, value: unknown): unknown {
  const raw = (this as Record<string, unknown>)[key]
  if (raw !== value && typeof raw === 'object' && raw !== null) {
    if (types.isDate(raw)) return tagDate(raw)
    if (Buffer.isBuffer(raw)) return { [TAG]: 'B', v: base64Of(raw) }
  }
  switch (typeof value) {
    case 'number':
      if (!isSpecialNumber(value)) return value
      return { [TAG]: 'N', v: Object.is(value, -0) ? '-0' : String(value) }
    case 'bigint':
      return { [TAG]: 'I', v: value.toString() }
    case 'object':
      return value === null || value === UNDEFINED_TAG ? value : tagObject(value)
    default:
      return value
  }
}

/** The tagged-format text of a top-level `undefined` (bare JSON has no text for it). */
export const UNDEFINED_TEXT = `{"${TAG}":"U"}`

function fail(reason: string): never {
  throw new TypeError(`tagged JSON: ${reason}`)
}

function bytesOf(payload: unknown): Buffer {
  if (typeof payload !== 'string') fail('a byte payload is not a string')
  return Buffer.from(payload, 'base64')
}

/** A copy of the payload's bytes in a fresh, aligned ArrayBuffer. */
function arrayBufferOf(payload: unknown): ArrayBuffer {
  const bytes = bytesOf(payload)
  const buffer = new ArrayBuffer(bytes.length)
  new Uint8Array(buffer).set(bytes)
  return buffer
}

function fromTag(tagged: Record<string, unknown>): unknown {
  const tag = tagged[TAG]
  const payload = tagged.v
  switch (tag) {
    case 'U':
      return undefined
    case 'N':
      if (payload === 'NaN') return Number.NaN
      if (payload === 'Infinity') return Number.POSITIVE_INFINITY
      if (payload === '-Infinity') return Number.NEGATIVE_INFINITY
      if (payload === '-0') return -0
      return fail('unknown special number')
    case 'I':
      if (typeof payload !== 'string' || !/^-?\d+$/.test(payload)) fail('invalid bigint')
      return BigInt(payload)
    case 'D':
      if (payload !== null && typeof payload !== 'number') fail('invalid date')
      return new Date(payload ?? Number.NaN)
    case 'M': {
      if (!Array.isArray(payload)) fail('invalid map')
      const map = new Map<unknown, unknown>()
      for (const entry of payload) {
        if (!Array.isArray(entry) || entry.length !== 2) fail('invalid map entry')
        map.set(untag(entry[0]), untag(entry[1]))
      }
      return map
    }
    case 'S': {
      if (!Array.isArray(payload)) fail('invalid set')
      const set = new Set<unknown>()
      for (const item of payload) set.add(untag(item))
      return set
    }
    case 'B':
      return bytesOf(payload)
    case 'ab':
      return arrayBufferOf(payload)
    case 'dv':
      return new DataView(arrayBufferOf(payload))
    default: {
      const ctor = typeof tag === 'string' ? typedArrayByTag.get(tag) : undefined
      if (ctor === undefined) return fail(`unknown tag ${JSON.stringify(tag)}`)
      const buffer = arrayBufferOf(payload)
      if (buffer.byteLength % ctor.BYTES_PER_ELEMENT !== 0) fail('typed array bytes are not whole elements')
      return new ctor(buffer)
    }
  }
}

function setOwn(target: Record<string, unknown>, key: string, value: unknown): void {
  // Assigning `__proto__` would set the prototype; define it as the own data property JSON meant.
  if (key === '__proto__') {
    Object.defineProperty(target, key, { value, writable: true, enumerable: true, configurable: true })
  } else {
    target[key] = value
  }
}

/**
 * Turns `JSON.parse` output of the tagged format back into values, top-down (a reviver runs
 * bottom-up, so it would read a user's escaped object as a tag before the escape was undone).
 * Mutates the freshly parsed tree in place.
 */
export function untag(value: unknown): unknown {
  if (typeof value !== 'object' || value === null) return value
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const item: unknown = value[i]
      if (typeof item === 'object' && item !== null) value[i] = untag(item)
    }
    return value
  }
  const record = value as Record<string, unknown>
  if (Object.hasOwn(record, TAG)) return fromTag(record)
  let escaped = false
  for (const key of Object.keys(record)) {
    const item = record[key]
    if (typeof item === 'object' && item !== null) {
      const revived = untag(item)
      if (revived !== item) setOwn(record, key, revived)
    }
    if (!escaped && isTagLikeKey(key, 2)) escaped = true
  }
  if (!escaped) return record
  const unescaped: Record<string, unknown> = {}
  for (const key of Object.keys(record)) {
    setOwn(unescaped, isTagLikeKey(key, 2) ? key.slice(1) : key, record[key])
  }
  return unescaped
}

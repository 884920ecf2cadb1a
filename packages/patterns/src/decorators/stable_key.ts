import { CacheKeyError } from '../errors.js'

/** Deepest nesting of an argument a key is built from. */
const MAX_DEPTH = 32

/**
 * A string that stands for `value` in a cache key: equal for values that mean the same and
 * different otherwise, whatever the order their object properties were written in.
 *
 * - Objects: properties sorted by name; a property set to `undefined` is left out, as in JSON
 *   (`{ a: 1, b: undefined }` is `{ a: 1 }`). Instances of a class are prefixed with its name.
 * - `undefined` and `null` differ (`f(undefined)` is not `f(null)`), and so do `1` and `'1'`.
 * - Dates by their time (`Date(2024-01-01T00:00:00.000Z)`), BigInts with an `n`, `NaN`, `±Infinity`,
 *   `-0` as `0`; Maps and Sets by their sorted entries, so insertion order does not matter; typed
 *   arrays and Buffers by their bytes; an object with `toJSON` by what it returns.
 * - Refused with `CacheKeyError` (`E_INVALID_OPTION`): functions, symbols, cycles, and nesting
 *   deeper than 32.
 *
 * @throws {CacheKeyError} when a value cannot be part of a key.
 *
 * @example
 * stableKey({ b: 2, a: [1, 'x'] }) === stableKey({ a: [1, 'x'], b: 2 }) // true: '{"a":[1,"x"],"b":2}'
 */
export function stableKey(value: unknown): string {
  return encode(value, 'value', [])
}

/** The key part of a call's arguments; paths in errors read `args[1].filters`. */
export function argumentsKey(args: readonly unknown[]): string {
  return encode(args, 'args', [])
}

function encode(value: unknown, path: string, ancestors: object[]): string {
  switch (typeof value) {
    case 'string':
      return JSON.stringify(value)
    case 'number':
      return Object.is(value, -0) ? '0' : String(value)
    case 'bigint':
      return `${value}n`
    case 'boolean':
      return value ? 'true' : 'false'
    case 'undefined':
      return 'undefined'
    case 'function':
      throw new CacheKeyError(path, 'is a function')
    case 'symbol':
      throw new CacheKeyError(path, 'is a symbol')
  }
  if (value === null) return 'null'
  const object = value as object
  if (ancestors.includes(object)) throw new CacheKeyError(path, 'refers back to itself (a cycle)')
  if (ancestors.length >= MAX_DEPTH) throw new CacheKeyError(path, `is nested deeper than ${MAX_DEPTH}`)
  ancestors.push(object)
  try {
    return encodeObject(object, path, ancestors)
  } finally {
    ancestors.pop()
  }
}

function encodeObject(object: object, path: string, ancestors: object[]): string {
  if (Array.isArray(object)) {
    const items: string[] = []
    // Index by index: a hole is `undefined`, as the method would see it.
    for (let i = 0; i < object.length; i++) items.push(encode(object[i], `${path}[${i}]`, ancestors))
    return `[${items.join(',')}]`
  }
  if (object instanceof Date) {
    const time = object.getTime()
    return `Date(${Number.isNaN(time) ? 'NaN' : object.toISOString()})`
  }
  if (ArrayBuffer.isView(object)) {
    const bytes = Buffer.from(object.buffer, object.byteOffset, object.byteLength)
    return `${object.constructor.name}(${bytes.toString('base64url')})`
  }
  if (object instanceof Map) {
    const entries = [...object].map(
      ([key, item], i) =>
        `${encode(key, `${path}<key ${i}>`, ancestors)}=>${encode(item, `${path}<value ${i}>`, ancestors)}`,
    )
    return `Map{${entries.sort().join(',')}}`
  }
  if (object instanceof Set) {
    const items = [...object].map((item, i) => encode(item, `${path}<item ${i}>`, ancestors))
    return `Set[${items.sort().join(',')}]`
  }
  if (object instanceof RegExp) return `RegExp(${JSON.stringify(object.source)},${object.flags})`
  const toJSON = (object as { toJSON?: unknown }).toJSON
  if (typeof toJSON === 'function') return encode(toJSON.call(object), `${path}.toJSON()`, ancestors)
  if (
    Object.getOwnPropertySymbols(object).some((symbol) =>
      Object.prototype.propertyIsEnumerable.call(object, symbol),
    )
  ) {
    throw new CacheKeyError(path, 'has a symbol-keyed property')
  }
  const names = Object.keys(object).sort()
  const fields: string[] = []
  for (const name of names) {
    const item = (object as Record<string, unknown>)[name]
    if (item === undefined) continue
    fields.push(`${JSON.stringify(name)}:${encode(item, `${path}.${name}`, ancestors)}`)
  }
  const prototype = Object.getPrototypeOf(object)
  const plain = prototype === Object.prototype || prototype === null
  return `${plain ? '' : (prototype.constructor?.name ?? 'Object')}{${fields.join(',')}}`
}

import { types } from 'node:util'
import type { CodecEncodeError } from '@cachekit/core'
import { encodeError } from './errors.js'

/**
 * The deepest nesting any serializer writes: values whose objects (arrays, plain objects, Maps, Sets,
 * and leaves such as a Date) nest deeper are refused at encode with `CodecEncodeError`, so no value is
 * stored that a reader cannot read back. The encoders and decoders are recursive and run out of stack
 * at depths that differ by serializer and by kind of container (measured, Node 20, default stack):
 * msgpackr writes ~1,310-1,410 objects or arrays but only ~700 Sets, and reads deeper than it writes;
 * tagged JSON writes ~2,190 levels (~865 nested Maps); v8 writes ~3,070 nested objects but reads back
 * only ~1,920, so without this limit it stores values it can never decode.
 *
 * One fixed limit well below all of them gives the same outcome on every machine and stack, and names
 * the problem instead of a `RangeError`. A container written as several levels counts as several: a Set
 * in msgpack (an extension around an array) is 2, a Map (tag object, entry list, entry) is 3 and a Set
 * (tag object, item list) is 2 in tagged JSON.
 */
export const MAX_DEPTH = 1000

/**
 * Thrown by the walks when they pass `MAX_DEPTH`, deep inside the value; the codec turns it into a
 * `CodecEncodeError` with `depthError`, which sees the whole value.
 */
export class NestingTooDeep extends Error {
  constructor() {
    super(`nested deeper than ${MAX_DEPTH} levels`)
  }
}

/**
 * The error for a value a walk found too deep: a cycle (the usual reason, for json and msgpack) is
 * named as such, anything else by the limit.
 */
export function depthError(serializer: string, value: unknown): CodecEncodeError {
  if (serializer !== 'v8' && holdsCycle(value)) {
    return encodeError(`the value holds a cycle, which ${serializer} cannot write`)
  }
  return encodeError(
    `the value nests deeper than ${MAX_DEPTH} levels (arrays, objects, Maps, Sets), the most ${serializer} ` +
      'writes so that every reader can read it back',
  )
}

/** Children of a container, as the walks see them (keys and values of a Map, items of a Set). */
function childrenOf(value: object): unknown[] {
  if (Array.isArray(value)) return value
  if (types.isMap(value)) return [...(value as Map<unknown, unknown>)].flat()
  if (types.isSet(value)) return [...(value as Set<unknown>)]
  if (isLeafObject(value)) return []
  const record = value as Record<string, unknown>
  return Object.keys(record).map((key) => record[key])
}

/**
 * True when a container is its own descendant within the first `MAX_DEPTH + 1` levels. Only runs once
 * a walk has failed, to word the error. Iterative (an explicit stack), since it runs on values that
 * just proved too deep for recursion; each container is expanded once.
 */
function holdsCycle(root: unknown): boolean {
  if (typeof root !== 'object' || root === null) return false
  const onPath = new Set<object>()
  const done = new Set<object>()
  const stack: Array<{ node: object; children: unknown[]; next: number }> = []
  const enter = (node: object): void => {
    onPath.add(node)
    stack.push({ node, children: childrenOf(node), next: 0 })
  }
  enter(root)
  while (stack.length > 0) {
    const top = stack[stack.length - 1]!
    if (top.next === top.children.length || stack.length > MAX_DEPTH) {
      stack.pop()
      onPath.delete(top.node)
      done.add(top.node)
      continue
    }
    const child = top.children[top.next++]
    if (typeof child !== 'object' || child === null || done.has(child)) continue
    if (onPath.has(child)) return true
    enter(child)
  }
  return false
}

/** True for values the walks below treat as leaves: written whole, with no nested values to visit. */
function isLeafObject(value: object): boolean {
  return (
    types.isDate(value) ||
    types.isRegExp(value) ||
    types.isAnyArrayBuffer(value) ||
    ArrayBuffer.isView(value) ||
    types.isBoxedPrimitive(value)
  )
}

/**
 * Throws `NestingTooDeep` when the tagged JSON of `value` would nest deeper than `MAX_DEPTH`. Only the tagged
 * path pays this walk (plain values are measured by `needsTags`, which walks them anyway). Objects
 * with a `toJSON` of their own are leaves here: JSON.stringify calls it, and so should nothing else.
 */
export function checkTaggedJsonDepth(value: unknown, level = 1): void {
  if (typeof value !== 'object' || value === null) return
  if (level > MAX_DEPTH) throw new NestingTooDeep()
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) checkTaggedJsonDepth(value[i], level + 1)
    return
  }
  // Plain objects first, without the util.types calls (native, and the bulk of a walk's cost).
  const proto = Object.getPrototypeOf(value)
  if (proto !== Object.prototype && proto !== null) {
    if (types.isMap(value)) {
      for (const [key, item] of value as Map<unknown, unknown>) {
        checkTaggedJsonDepth(key, level + 3)
        checkTaggedJsonDepth(item, level + 3)
      }
      return
    }
    if (types.isSet(value)) {
      for (const item of value as Set<unknown>) checkTaggedJsonDepth(item, level + 2)
      return
    }
    if (isLeafObject(value) || typeof (value as { toJSON?: unknown }).toJSON === 'function') return
  }
  const record = value as Record<string, unknown>
  for (const key in record) checkTaggedJsonDepth(record[key], level + 1)
}

/**
 * Throws `NestingTooDeep` when the v8 serialization of `value` would nest deeper than `MAX_DEPTH`.
 *
 * v8 keeps shared references and cycles: it writes an object where it first meets it and refers
 * back to it after that, so the exact walk visits every object once (a `Set`). That costs about 40% of
 * `v8.serialize` on a 10 KB document (measured), so a plain walk runs first: it follows every path,
 * which can only overstate the nesting, and gives up after `FAST_VISITS` objects. Only a value it
 * cannot clear (too deep along some path, a cycle, or very large) pays for the exact walk.
 */
export function checkV8Depth(value: unknown): void {
  if (typeof value !== 'object' || value === null) return
  budget = FAST_VISITS
  try {
    walkPaths(value, 1)
    return
  } catch (error) {
    if (error !== GIVE_UP) throw error
  }
  walkOnce(value, 1, new Set())
}

const FAST_VISITS = 10_000
const GIVE_UP = new Error('give up')
let budget = 0

function walkPaths(value: unknown, level: number): void {
  if (typeof value !== 'object' || value === null) return
  if (level > MAX_DEPTH || --budget < 0) throw GIVE_UP
  const next = level + 1
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) walkPaths(value[i], next)
    return
  }
  const proto = Object.getPrototypeOf(value)
  if (proto !== Object.prototype && proto !== null) {
    if (types.isMap(value)) {
      for (const [key, item] of value as Map<unknown, unknown>) {
        walkPaths(key, next)
        walkPaths(item, next)
      }
      return
    }
    if (types.isSet(value)) {
      for (const item of value as Set<unknown>) walkPaths(item, next)
      return
    }
    if (types.isNativeError(value)) {
      walkPaths((value as Error).cause, next)
      return
    }
    if (isLeafObject(value)) return
  }
  const record = value as Record<string, unknown>
  for (const key in record) walkPaths(record[key], next)
}

function walkOnce(value: unknown, level: number, seen: Set<object>): void {
  if (typeof value !== 'object' || value === null || seen.has(value)) return
  seen.add(value)
  if (level > MAX_DEPTH) throw new NestingTooDeep()
  const next = level + 1
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) walkOnce(value[i], next, seen)
    return
  }
  // Plain objects first, without the util.types calls (native, and the bulk of a walk's cost).
  const proto = Object.getPrototypeOf(value)
  if (proto !== Object.prototype && proto !== null) {
    if (types.isMap(value)) {
      for (const [key, item] of value as Map<unknown, unknown>) {
        walkOnce(key, next, seen)
        walkOnce(item, next, seen)
      }
      return
    }
    if (types.isSet(value)) {
      for (const item of value as Set<unknown>) walkOnce(item, next, seen)
      return
    }
    if (types.isNativeError(value)) {
      walkOnce((value as Error).cause, next, seen)
      return
    }
    if (isLeafObject(value)) return
  }
  const record = value as Record<string, unknown>
  for (const key of Object.keys(record)) walkOnce(record[key], next, seen)
}

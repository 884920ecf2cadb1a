import { InvalidOptionError } from '@cachekit/core'

/** A short description of a value for error messages, never its content. */
export function describe(value: unknown): string {
  if (value === null) return 'null'
  if (Array.isArray(value)) return 'an array'
  if (typeof value === 'string') return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value)
  if (typeof value === 'number' || typeof value === 'boolean') return String(value)
  return typeof value
}

/** Throws unless `value` is an integer in [min, max]; `undefined` gives `fallback`. */
export function integerOption(
  name: string,
  value: unknown,
  fallback: number,
  min: number,
  max: number,
): number {
  if (value === undefined) return fallback
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw new InvalidOptionError(
      `[cachekit/patterns] ${name} must be an integer from ${min} to ${max}, got ${describe(value)}`,
    )
  }
  return value
}

/** Throws unless `value` is a function or `undefined`. */
export function optionalFunction<F>(name: string, value: unknown): F | undefined {
  if (value !== undefined && typeof value !== 'function') {
    throw new InvalidOptionError(`[cachekit/patterns] ${name} must be a function, got ${describe(value)}`)
  }
  return value as F | undefined
}

/** Throws unless `value` is an object (the options bag of a call), or `undefined`. */
export function optionsObject<T extends object>(name: string, value: T | undefined): T | Partial<T> {
  if (value === undefined) return {}
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new InvalidOptionError(`[cachekit/patterns] ${name} must be an object, got ${describe(value)}`)
  }
  return value
}

/** Throws unless `cache` looks like a cachekit `Cache` (or a namespace or profile view of one). */
export function assertCache(cache: unknown, caller: string, methods: readonly string[]): void {
  const ok =
    typeof cache === 'object' &&
    cache !== null &&
    methods.every((method) => typeof (cache as Record<string, unknown>)[method] === 'function')
  if (!ok) {
    throw new InvalidOptionError(
      `[cachekit/patterns] ${caller} needs a Cache from @cachekit/core (createCache), got ${describe(cache)}`,
    )
  }
}

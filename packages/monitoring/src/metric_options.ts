import type { Registry } from 'prom-client'
import { MonitoringOptionError } from './errors.js'

/** A metric name prefix: Prometheus name characters, no colon (colons are for recording rules). */
const PREFIX = /^[a-zA-Z_][a-zA-Z0-9_]*$/

/** Throws `MonitoringOptionError` unless `prefix` can start a metric name. */
export function checkPrefix(prefix: string): void {
  if (!PREFIX.test(prefix))
    throw new MonitoringOptionError(`prefix must match ${PREFIX}, got ${JSON.stringify(prefix)}`)
}

/** Throws `MonitoringOptionError` unless `name` (a `cache`, `limiter` or `sessions` label) is a non-empty string. */
export function checkName(name: string): void {
  if (typeof name !== 'string' || name === '')
    throw new MonitoringOptionError('name must be a non-empty string')
}

/**
 * One set of metrics per registry and prefix, made on first use: every watched object of a kind
 * shares them, each with its own label.
 */
export function perRegistry<T>(
  make: (registry: Registry, prefix: string) => T,
): (registry: Registry, prefix: string) => T {
  const made = new WeakMap<Registry, Map<string, T>>()
  return (registry, prefix) => {
    let byPrefix = made.get(registry)
    if (!byPrefix) {
      byPrefix = new Map()
      made.set(registry, byPrefix)
    }
    let metrics = byPrefix.get(prefix)
    if (metrics === undefined) {
      metrics = make(registry, prefix)
      byPrefix.set(prefix, metrics)
    }
    return metrics
  }
}

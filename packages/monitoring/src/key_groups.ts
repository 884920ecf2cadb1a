import { MonitoringOptionError } from './errors.js'

/**
 * Folds keys into a small set of label values, so no key ever becomes a label: a list of
 * `[pattern, group]` pairs (the first match wins) or a function. Keys are matched as the stores see
 * them, with the cache prefix and namespaces (`app:user:42`). Unmatched keys are `other`.
 */
export type KeyGroups = ReadonlyArray<readonly [RegExp, string]> | ((storeKey: string) => string)

/** The group label of a key that no pattern matched. */
export const OTHER_GROUP = 'other'

/** At most this many distinct groups per registry; past it, new ones count as `other`. */
export const MAX_GROUPS = 100

/** Compiles `keyGroups` into a function with a bounded set of results. */
export function groupOf(keyGroups: KeyGroups): (storeKey: string) => string {
  const seen = new Set<string>()
  const bounded = (group: string): string => {
    if (seen.has(group)) return group
    if (seen.size >= MAX_GROUPS) return OTHER_GROUP
    seen.add(group)
    return group
  }
  if (typeof keyGroups === 'function') {
    return (storeKey) => {
      const group = keyGroups(storeKey)
      return typeof group === 'string' && group !== '' ? bounded(group) : OTHER_GROUP
    }
  }
  if (!Array.isArray(keyGroups)) {
    throw new MonitoringOptionError('keyGroups must be an array of [RegExp, group] pairs or a function')
  }
  for (const pair of keyGroups) {
    if (
      !Array.isArray(pair) ||
      !(pair[0] instanceof RegExp) ||
      typeof pair[1] !== 'string' ||
      pair[1] === ''
    ) {
      throw new MonitoringOptionError('each keyGroups entry must be [RegExp, non-empty group name]')
    }
    // A global or sticky RegExp keeps state between `test` calls and would match every other key.
    if (pair[0].global || pair[0].sticky) {
      throw new MonitoringOptionError(`keyGroups pattern ${pair[0]} must not use the g or y flag`)
    }
  }
  const pairs = keyGroups.map(([pattern, group]) => [pattern, group] as const)
  return (storeKey) => {
    for (const [pattern, group] of pairs) if (pattern.test(storeKey)) return group
    return OTHER_GROUP
  }
}

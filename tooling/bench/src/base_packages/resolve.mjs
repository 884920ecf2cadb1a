/**
 * The resolve hook of register.mjs: `@cachekit/<name>` (not the harness, which is tooling, not
 * measured) is resolved as if imported from the other tree's package.json, so its symlinks lead to
 * that tree's packages/<name>/dist, and their own imports resolve from there.
 */
let parentURL

export function initialize(data) {
  parentURL = data.parentURL
}

export function resolve(specifier, context, next) {
  if (specifier.startsWith('@cachekit/') && !specifier.startsWith('@cachekit/redis-harness')) {
    return next(specifier, { ...context, parentURL })
  }
  return next(specifier, context)
}

/**
 * Redis glob patterns, as `SCAN MATCH` reads them: `*` any run, `?` one character, `[abc]`, `[a-z]`,
 * `[^a]` classes, and `\` to take the next character literally. Local stores match with the same
 * rules so a pattern means the same on every tier.
 */

const GLOB_SPECIAL = /[*?[\]\\]/g

/**
 * Escapes a literal (a namespace, a user id) so it matches only itself inside a glob:
 * `escapeGlob('a*')` is `'a\\*'`. Use it on every user-supplied part of a pattern.
 */
export function escapeGlob(literal: string): string {
  return literal.replace(GLOB_SPECIAL, '\\$&')
}

/**
 * Builds a glob from a template: the template's own text is the pattern, and every interpolated
 * value is escaped, so user input can only ever match itself.
 * @example cache.deleteMatching(glob`session:${userId}:*`) // userId '*' deletes nobody else's sessions
 */
export function glob(template: TemplateStringsArray, ...values: ReadonlyArray<string | number>): string {
  let pattern = template[0] ?? ''
  for (const [i, value] of values.entries()) pattern += escapeGlob(String(value)) + (template[i + 1] ?? '')
  return pattern
}

/** True when the pattern has no unescaped glob characters, i.e. matches exactly one key. */
export function isLiteralGlob(pattern: string): boolean {
  for (let i = 0; i < pattern.length; i++) {
    const char = pattern[i]
    if (char === '\\') i++
    else if (char === '*' || char === '?' || char === '[') return false
  }
  return true
}

/** The longest literal prefix of a pattern (unescaped), so a store can narrow a scan before matching. */
export function globPrefix(pattern: string): string {
  let prefix = ''
  for (let i = 0; i < pattern.length; i++) {
    const char = pattern[i]!
    if (char === '\\') {
      if (i + 1 < pattern.length) prefix += pattern[++i]
      continue
    }
    if (char === '*' || char === '?' || char === '[') break
    prefix += char
  }
  return prefix
}

const REGEXP_SPECIAL = /[.*+?^${}()|[\]\\/-]/g
const escapeRegExp = (text: string) => text.replace(REGEXP_SPECIAL, '\\$&')

/** Compiles a Redis glob into an anchored regular expression with the same meaning. */
export function globToRegExp(pattern: string): RegExp {
  let source = ''
  for (let i = 0; i < pattern.length; i++) {
    const char = pattern[i]!
    if (char === '*') {
      source += '[\\s\\S]*'
    } else if (char === '?') {
      source += '[\\s\\S]'
    } else if (char === '\\') {
      source += i + 1 < pattern.length ? escapeRegExp(pattern[++i]!) : '\\\\'
    } else if (char === '[') {
      const { regexp, end } = compileClass(pattern, i + 1)
      source += regexp
      i = end
    } else {
      source += escapeRegExp(char)
    }
  }
  // No `u` flag: a key is matched per UTF-16 unit. Redis matches bytes, so `?` against a non-ASCII
  // character differs between tiers; literal and `*` matching, which the cache relies on, agree.
  return new RegExp(`^${source}$`)
}

/** Compiles `[...]` starting after the bracket; an unterminated class runs to the end, as in Redis. */
function compileClass(pattern: string, start: number): { regexp: string; end: number } {
  let i = start
  let negate = false
  if (pattern[i] === '^') {
    negate = true
    i++
  }
  let body = ''
  for (; i < pattern.length && pattern[i] !== ']'; i++) {
    let char = pattern[i]!
    if (char === '\\' && i + 1 < pattern.length) char = pattern[++i]!
    if (pattern[i + 1] === '-' && i + 2 < pattern.length && pattern[i + 2] !== ']') {
      let to = pattern[i + 2]!
      i += 2
      if (to === '\\' && i + 1 < pattern.length) to = pattern[++i]!
      // Redis accepts reversed ranges such as [z-a]; a RegExp does not, so order them.
      const [low, high] = char <= to ? [char, to] : [to, char]
      body += `${escapeRegExp(low)}-${escapeRegExp(high)}`
    } else {
      body += escapeRegExp(char)
    }
  }
  if (body === '') return { regexp: negate ? '[\\s\\S]' : '(?!)', end: i }
  return { regexp: `[${negate ? '^' : ''}${body}]`, end: i }
}

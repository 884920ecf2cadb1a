import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { escapeGlob, glob, globPrefix, globToRegExp, isLiteralGlob } from '../src/index.js'

const matches = (pattern: string, key: string) => globToRegExp(pattern).test(key)

describe('Redis globs', () => {
  it.each([
    ['user:*', 'user:1', true],
    ['user:*', 'user:', true],
    ['user:*', 'users', false],
    ['user:?', 'user:10', false],
    ['user:[0-9]', 'user:7', true],
    ['user:[9-0]', 'user:7', true],
    ['user:[^0-9]', 'user:7', false],
    ['user:[^0-9]', 'user:x', true],
    ['a\\*b', 'a*b', true],
    ['a\\*b', 'axb', false],
    ['a.b', 'axb', false],
    ['(a|b)', '(a|b)', true],
    ['x[\\]]y', 'x]y', true],
    ['line*', 'line1\nline2', true],
  ])('%s against %j is %s', (pattern, key, expected) => {
    expect(matches(pattern, key)).toBe(expected)
  })

  it('escapes any string so that it matches only itself', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary' }), fc.string({ unit: 'binary' }), (literal, other) => {
        const pattern = escapeGlob(literal)
        expect(matches(pattern, literal)).toBe(true)
        if (other !== literal) expect(matches(pattern, other)).toBe(false)
        expect(isLiteralGlob(pattern)).toBe(true)
        expect(globPrefix(pattern)).toBe(literal)
      }),
    )
  })

  it('never widens an escaped prefix', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary' }), fc.string({ unit: 'binary' }), (prefix, key) => {
        expect(matches(`${escapeGlob(prefix)}*`, key)).toBe(key.startsWith(prefix))
      }),
    )
  })

  it('finds the literal prefix of a pattern', () => {
    expect(globPrefix('tenant\\*1:user:*')).toBe('tenant*1:user:')
    expect(globPrefix('*')).toBe('')
    expect(isLiteralGlob('user:*')).toBe(false)
    expect(isLiteralGlob('user:\\*')).toBe(true)
  })
})

describe('glob`...`', () => {
  it('keeps the template as the pattern and escapes every value', () => {
    expect(glob`session:${'a*'}:*`).toBe('session:a\\*:*')
    expect(glob`user:${42}:[ab]`).toBe('user:42:[ab]')
    const pattern = glob`session:${'*'}:*`
    expect(globToRegExp(pattern).test('session:*:1')).toBe(true)
    expect(globToRegExp(pattern).test('session:bob:1')).toBe(false)
  })
})
